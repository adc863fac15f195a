"""A PEP 517 build backend small enough to need no package index.

It only builds wheels: the package directory next to it, plus metadata and
one console script. Zip entries carry a fixed time so the wheel's bytes do
not depend on when it was built.
"""

import base64
import hashlib
import os
import zipfile

NAME = "platgreet"
VERSION = "1.0"
HERE = os.path.dirname(os.path.abspath(__file__))
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def _record_hash(data):
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _files():
    dist_info = "%s-%s.dist-info" % (NAME, VERSION)
    files = []
    pkg = os.path.join(HERE, NAME)
    for name in sorted(os.listdir(pkg)):
        if name.endswith(".py"):
            with open(os.path.join(pkg, name), "rb") as f:
                files.append((NAME + "/" + name, f.read()))
    files.append((dist_info + "/METADATA", (
        "Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (NAME, VERSION)).encode()))
    files.append((dist_info + "/WHEEL", (
        "Wheel-Version: 1.0\nGenerator: tinybackend\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n").encode()))
    files.append((dist_info + "/entry_points.txt",
                  b"[console_scripts]\nplatgreet = platgreet:main\n"))
    return dist_info, files


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    dist_info, files = _files()
    wheel_name = "%s-%s-py3-none-any.whl" % (NAME, VERSION)
    record = "".join("%s,%s,%d\n" % (path, _record_hash(data), len(data))
                     for path, data in files)
    record += dist_info + "/RECORD,,\n"
    files.append((dist_info + "/RECORD", record.encode()))
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel_name), "w",
                         zipfile.ZIP_DEFLATED) as zf:
        for path, data in files:
            info = zipfile.ZipInfo(path, FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return wheel_name
