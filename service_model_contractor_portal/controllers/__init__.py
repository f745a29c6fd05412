from . import portal, portal_import
