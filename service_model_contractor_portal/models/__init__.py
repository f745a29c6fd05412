from . import service_portal_link_mixin, service_account, service_import, service_job
