"""Training objectives: adversarial (a registry), likelihood, policy gradient, and critic calibration."""
