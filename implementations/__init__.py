"""Reference implementations in PyTorch (device- and dtype-agnostic): problems, cfgd, bfgs, mathl2o."""
