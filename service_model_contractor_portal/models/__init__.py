from . import service_account, service_import, service_job
