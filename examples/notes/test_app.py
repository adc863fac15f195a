"""Unit tests, run as a build task: a failing test stops the push."""
import os
import unittest


class TestLayout(unittest.TestCase):
    def test_version_file(self):
        here = os.path.dirname(os.path.abspath(__file__))
        with open(os.path.join(here, "VERSION")) as f:
            self.assertTrue(f.read().strip())


if __name__ == "__main__":
    unittest.main()
