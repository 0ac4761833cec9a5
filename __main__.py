"""The faasplane Pulumi program: read the typed stack config, build the platform and its functions."""

import pulumi

from faasplane.components.config import load_config
from faasplane.components.function import check_function_images
from faasplane.components.platform import Platform
from faasplane.functions import declare_functions

config = load_config()
platform = Platform("faasplane", config)
functions = declare_functions(platform)
check_function_images(platform)

pulumi.export("controlPlaneNamespace", platform.control_plane_namespace)
pulumi.export("functionsNamespace", platform.functions_namespace)
pulumi.export("registry", config.registry.server)
pulumi.export("edition", config.edition)
pulumi.export("gatewayUrl", platform.gateway_url)
pulumi.export("externalGatewayUrl", platform.external_gateway_url)
pulumi.export("adminPassword", platform.admin_password)
pulumi.export("prometheusUrl", platform.prometheus_url)
pulumi.export("alertmanagerUrl", platform.alertmanager_url)
pulumi.export("functions", {fn.function_name: fn.image_ref for fn in functions})
