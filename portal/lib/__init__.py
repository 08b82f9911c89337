"""Shared helpers for the portal's apps. Holds no models."""
