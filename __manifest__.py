{
    "name": "Service Model Suite",
    "summary": "Installs the whole Service Model suite, with demo data and end-to-end tests",
    "version": "18.0.1.0.0",
    "category": "Services",
    "license": "LGPL-3",
    "author": "Service Model",
    "website": "https://github.com/service-model/service-model",
    "depends": [
        "service_model",
        "service_model_comms",
        "service_model_contractor_portal",
    ],
    "data": [],
    "demo": [
        "data/service_model_suite_demo.xml",
        "data/service_model_suite_portal_demo.xml",
        "data/service_model_suite_comms_demo.xml",
    ],
    "assets": {
        "web.assets_tests": [
            "service_model_suite/static/tests/tours/**/*",
        ],
    },
    "installable": True,
}
