"""A tiny library the python buildpack tests install from a local wheel."""


def greeting(name="plat"):
    return "hello from platgreet, " + name


def main():
    print(greeting())
