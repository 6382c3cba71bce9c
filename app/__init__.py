"""Shixun (实训): learning management for a standardization practical-training base."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
