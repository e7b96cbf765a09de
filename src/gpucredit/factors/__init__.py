"""Factor models: parameters, sourced defaults and the process kernels."""

from gpucredit.factors.defaults import default_factor_params
from gpucredit.factors.params import (
    GLUT,
    TIGHT,
    CorrelationParams,
    FactorParams,
    RegimeParams,
    RentParams,
    SofrParams,
    SuccessorStep,
    UtilisationParams,
)

__all__ = [
    "GLUT",
    "TIGHT",
    "CorrelationParams",
    "FactorParams",
    "RegimeParams",
    "RentParams",
    "SofrParams",
    "SuccessorStep",
    "UtilisationParams",
    "default_factor_params",
]
