from . import test_portal
