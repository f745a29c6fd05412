from . import test_portal, test_portal_import, test_portal_tour
