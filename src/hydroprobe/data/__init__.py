"""Basin data: loaders for the published layouts, checks, splits, scaling and windows."""
