from . import (
    test_portal,
    test_portal_access_grant,
    test_portal_import,
    test_portal_links,
    test_portal_tour,
)
