"""The bundled model weights (safetensors) and their recipes; a package so that they ship in wheels."""
