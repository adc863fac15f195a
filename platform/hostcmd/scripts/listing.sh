#!/bin/sh
# listing.sh DIR
#
# Prints the listing of the release tree DIR that plat compares with
# release.Manifest.Listing, byte for byte: one line per regular file,
# "f <mode, octal> <size> ./<path>", and per symbolic link,
# "l 777 <length of its target> ./<path>", sorted bytewise (LC_ALL=C);
# directories are not listed and DIR/.plat is left out. finish.sh hashes
# this listing and verify.sh prints it: both hold this pipeline verbatim
# (TestScriptsShareTheListingPipeline).
#
# Exit: 1 when DIR is missing, else 0.
# Go: hostcmd.Listing.

cd "$1" || exit 1
{ find . -path ./.plat -prune -o -type f -exec stat -c 'f %a %s %n' {} + ; find . -path ./.plat -prune -o -type l -exec stat -c 'l 777 %s %n' {} + ; } | LC_ALL=C sort
