"""Factor models: parameters, sourced defaults and the process kernels."""

from gpucredit.factors.bitcoin import (
    BtcFit,
    HashpriceParams,
    HashrateFit,
    HashrateParams,
    JumpDiffusionParams,
    fit_btc_jump_diffusion,
    fit_hashrate,
    simulate_btc,
    simulate_hashprice,
    simulate_hashrate,
)
from gpucredit.factors.calibrate import Calibration, calibrate_factors
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
    "BtcFit",
    "Calibration",
    "CorrelationParams",
    "FactorParams",
    "HashpriceParams",
    "HashrateFit",
    "HashrateParams",
    "JumpDiffusionParams",
    "RegimeParams",
    "RentParams",
    "SofrParams",
    "SuccessorStep",
    "UtilisationParams",
    "calibrate_factors",
    "default_factor_params",
    "fit_btc_jump_diffusion",
    "fit_hashrate",
    "simulate_btc",
    "simulate_hashprice",
    "simulate_hashrate",
]
