"""One module per method; each holds its config dataclass, its model and its named loss terms.

Nothing here imports :mod:`infobounds.training`: models only describe their players, update schedule
and loss terms (:mod:`infobounds.models.base`).
"""

from infobounds.models.base import LossTerms, OptimizerConfig, Player, Trainable, Update

MODELS = {
    "vib": "infobounds.models.vib:VIB",
    "club": "infobounds.models.club:CLUB",
    "teb": "infobounds.models.teb:TEB",
    "teb_predictor": "infobounds.models.teb:ConditionalPredictor",
    "invariant_classifier": "infobounds.models.invariance:InvariantClassifier",
    "vae": "infobounds.models.vae:VAE",
    "factorvae": "infobounds.models.factorvae:FactorVAE",
    "st_rkm": "infobounds.models.st_rkm:StRKM",
    "stiefel_pca": "infobounds.models.stiefel_pca:StiefelPCA",
    "gmvae": "infobounds.models.gmvae:GMVAE",
    "farconvae": "infobounds.models.farconvae:FarconVAE",
    "adversarial_fair": "infobounds.models.farconvae:AdversarialRepresentation",
    "ivae": "infobounds.models.ivae:IVAE",
    "cmi": "infobounds.models.cmi:SubspaceClassifier",
    "gan": "infobounds.models.gan:GAN",
    "infogan": "infobounds.models.infogan:InfoGAN",
    "dim": "infobounds.models.dim:DIM",
    "dim_supervised": "infobounds.models.dim:SupervisedEncoder",
    "wae_mmd": "infobounds.models.wae:WAEMMD",
    "wae_gan": "infobounds.models.wae:WAEGAN",
    "aae": "infobounds.models.aae:AAE",
    "gwae": "infobounds.models.gwae:GWAE",
    "ctrl": "infobounds.models.ctrl:CTRL",
    "multimodal_vae": "infobounds.models.multimodal:MultimodalVAE",
    "meme": "infobounds.models.meme:MEME",
    "mm_gan": "infobounds.models.mm_gan:MultimodalGAN",
    "variational_wyner": "infobounds.models.wyner:VariationalWyner",
}

__all__ = ["LossTerms", "MODELS", "OptimizerConfig", "Player", "Trainable", "Update"]
