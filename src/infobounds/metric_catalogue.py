"""What each number on the scoreboard means: a catalogue of the metrics the chapters record.

The scoreboard (:func:`infobounds.results.scoreboard_markdown`) prints, beside every recorded
value, what the metric measures, which direction is better and the chance level where one exists;
the chapters' ``record`` calls stay as they are. A metric is found by its chapter and a regular
expression over its name; a named group ``(?P<model>...)`` is looked up in the entry's ``names`` and
put into the text (``names[group]`` maps what it matched to words), so ``reversed_env_accuracy_irm`` reads "accuracy of IRM on the reversed test
environment". The paper's value is not kept here: a chapter records it with the number
(``record(..., paper=...)`` or ``note=``), so it sits beside the run that it is compared with.

``tests/test_metric_catalogue.py`` checks that every metric in ``results/quick`` has an entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

HIGHER = "higher"
LOWER = "lower"
NEITHER = "neither (a measurement)"


@dataclass(frozen=True)
class MetricDescription:
    """meaning: one sentence; better: HIGHER, LOWER, NEITHER or a phrase such as "closer to the
    truth"; chance: the value a trivial or random model gets, as text ("" where none applies)."""

    meaning: str
    better: str
    chance: str = ""


@dataclass(frozen=True)
class CatalogueEntry:
    """What one recorded metric means: the chapter that records it, the pattern of its names (a
    regular expression), its meaning, which direction is better, and its chance level."""

    chapter: str
    pattern: str
    meaning: str
    better: str
    chance: str = ""
    names: dict = field(default_factory=dict)  # group -> {matched text: words}

    def describe(self, chapter: str, metric: str) -> MetricDescription | None:
        if chapter != self.chapter:
            return None
        match = re.fullmatch(self.pattern, metric)
        if match is None:
            return None
        words = {group: self.names.get(group, {}).get(text, text) for group, text in match.groupdict().items()}
        return MetricDescription(self.meaning.format(**words), self.better, self.chance)


_CLASSES10 = "0.1 (ten classes)"
_FACTORS5 = "0.2 (five factors)"
_VAE_MODELS = {"beta_vae": "the β-VAE", "factorvae": "FactorVAE", "bvae": "the β-VAE", "strkm": "the St-RKM"}
_MULTIMODAL = {"jmvae": "JMVAE", "mmvae": "MMVAE", "mopoe": "MoPoE", "mvae": "MVAE", "meme": "MEME"}
_GANS = {"minimax": "the minimax GAN", "non_saturating": "the non-saturating GAN",
         "non_saturating_sn": "the spectrally normalised GAN", "wgan_gp": "WGAN-GP"}
_DIRECTIONS = {"x_to_y": "digit → garment", "y_to_x": "garment → digit", "joint": "joint"}
_FAIR = {"vae": "the VAE", "adv": "the adversarial baseline", "farcon_t": "FarconVAE-t",
         "farcon_g": "FarconVAE-G", "iid_vae": "the VAE", "iid_adv": "the adversarial baseline",
         "iid_farcon_t": "FarconVAE-t", "iid_farcon_g": "FarconVAE-G"}

_SCORES = {"beta_vae": ("the β-VAE metric", _FACTORS5), "factor_vae": ("the FactorVAE metric", _FACTORS5),
           "dci": ("the DCI disentanglement score", "0"), "mig": ("the mutual information gap", "0")}


def _scores(chapter: str, models: str) -> list[CatalogueEntry]:
    """The four disentanglement scores of chapters 13 and 14, per model."""
    return [CatalogueEntry(chapter, rf"{score}_(?P<model>{models})", f"{words} of {{model}}", "higher (1 at most)",
                   chance, names={"model": _VAE_MODELS}) for score, (words, chance) in _SCORES.items()]


CATALOGUE: tuple[CatalogueEntry, ...] = (
    CatalogueEntry("01_information_measures", "infonce_at_10_nats",
           "InfoNCE's estimate at the 10-nat level of the staircase (K = 128, so capped at log K)",
           "higher, up to the true 10 nats"),
    CatalogueEntry("01_information_measures", "nwj_max_std",
           "largest per-step standard deviation of the NWJ estimate over the staircase's levels", LOWER),
    CatalogueEntry("02_information_bottleneck", r"test_error_beta_1e-3",
           "test error of the variational information bottleneck at β = 10⁻³", LOWER, "0.9 (ten classes)"),
    CatalogueEntry("03_bottleneck_family", r"heldout_adversary_accuracy_alpha_(?P<alpha>0|max)",
           "accuracy of a fresh adversary reading the colour from the frozen code, at {alpha}",
           "lower (less leakage)", "about 0.25 (the majority colour of four)",
           names={"alpha": {"0": "α = 0", "max": "the largest α"}}),
    CatalogueEntry("03_bottleneck_family", r"utility_accuracy_alpha_max",
           "test accuracy of the utility classifier at the largest leakage weight α", HIGHER, _CLASSES10),
    CatalogueEntry("04_transfer_entropy_bottleneck", r"te_estimate_nats",
           "TEB's estimate of the transfer entropy at the smallest β (held-out NLL difference)",
           "closer to the true TE (in the note)"),
    CatalogueEntry("04_transfer_entropy_bottleneck", r"te_relative_error",
           "relative error of that estimate against the analytic transfer entropy", LOWER),
    CatalogueEntry("04_transfer_entropy_bottleneck", r"rate_at_beta_min_nats",
           "TEB's rate at the smallest β, an upper bound on I(Z; X_past | Y_past)", NEITHER),
    CatalogueEntry("05_distribution_shift", r"reversed_env_accuracy_(?P<model>\w+)",
           "accuracy of {model} on the test environment, whose colour-label correlation is reversed",
           "higher (at most 0.75 under the label noise)", "0.5 (two classes)",
           names={"model": {"erm": "ERM", "vib": "the VIB", "dann": "DANN", "cdann": "CDANN",
                            "irm": "IRM", "vrex": "V-REx"}}),
    CatalogueEntry("06_vae_rate_distortion", r"distortion_train_beta1",
           "distortion D = E[-log q(x|z)] of the β = 1 VAE on the training set", LOWER),
    CatalogueEntry("06_vae_rate_distortion", r"rate_train_beta1",
           "rate R (KL to the prior) of the β = 1 VAE on the training set, an upper bound on I(X;Z)",
           NEITHER),
    CatalogueEntry("06_vae_rate_distortion", r"iwae_nll_test_beta1",
           "importance-weighted bound on the test negative log-likelihood of the β = 1 VAE", LOWER),
    CatalogueEntry("07_rate_distortion_sandwich", r"gaussian2d_(?P<side>lower|upper)_gap_slope1\.5",
           "gap between the {side} bound and the true R(D) of a 2-D Gaussian, at slope 1.5",
           "lower (0 is tight)", names={"side": {"lower": "dual lower", "upper": "autoencoder upper"}}),
    CatalogueEntry("08_gans", r"dcgan_classifier_frechet_distance",
           "Fréchet distance between real and generated images in a classifier's features (not an FID)",
           LOWER),
    CatalogueEntry("08_gans", r"ring_high_quality_(?P<model>\w+)",
           "share of {model}'s samples within three standard deviations of a ring mode", HIGHER,
           names={"model": _GANS}),
    CatalogueEntry("08_gans", r"ring_modes_covered_(?P<model>\w+)",
           "how many of the ring's 8 modes {model}'s high-quality samples cover", "higher (8 at most)",
           names={"model": _GANS}),
    CatalogueEntry("09_infogan", r"categorical_code_matched_accuracy",
           "accuracy of InfoGAN's categorical code as a classifier of real test images, codes matched to "
           "classes", HIGHER, _CLASSES10),
    CatalogueEntry("09_infogan", r"l_i_categorical_final",
           "final value of InfoGAN's lower bound L_I on I(c; G(z, c))", "higher, up to log 10"),
    CatalogueEntry("10_deep_infomax", r"probe_accuracy_conv_(?P<model>\w+)",
           "test accuracy of a linear probe on the pooled convolutional features of {model}", HIGHER,
           _CLASSES10, names={"model": {"diml": "DIM(L)", "random": "a random encoder",
                                        "supervised": "a supervised encoder"}}),
    CatalogueEntry("11_wasserstein_autoencoders", r"(?P<data>banana|fmnist)_gw_data_latent_(?P<model>\w+)",
           "Gromov-Wasserstein discrepancy between distances in the data and in the codes of {model} "
           "({data})", "lower (geometry kept)",
           names={"data": {"banana": "banana", "fmnist": "Fashion-MNIST"},
                  "model": {"gwae": "the GWAE", "gwae_gauss": "the GWAE with a Gaussian prior",
                            "vae": "the VAE"}}),
    CatalogueEntry("11_wasserstein_autoencoders", r"banana_w2_samples_wae_mmd",
           "squared 2-Wasserstein distance between the WAE-MMD's samples and the banana", LOWER),
    CatalogueEntry("12_closed_loop_transcription", r"fm_between_class_abs_cosine",
           "mean |cos| between features of different Fashion-MNIST classes", "lower (0 is orthogonal)"),
    CatalogueEntry("12_closed_loop_transcription", r"(?P<data>fm|subspaces)_cosine_margin",
           "within-class minus between-class mean |cos| of the features ({data})", HIGHER,
           names={"data": {"fm": "Fashion-MNIST", "subspaces": "subspace mixture"}}),
    CatalogueEntry("12_closed_loop_transcription", r"fm_reconstruction_class_consistency",
           "share of re-encoded reconstructions nearest to their own class's subspace", HIGHER,
           _CLASSES10),
    *_scores("13_factorvae", "beta_vae|factorvae"),
    CatalogueEntry("13_factorvae", r"total_correlation_(?P<model>beta_vae|factorvae)",
           "estimated total correlation of {model}'s aggregate code", "lower (more factorised)",
           names={"model": _VAE_MODELS}),
    CatalogueEntry("13_factorvae", r"distortion_(?P<model>beta_vae|factorvae)",
           "reconstruction distortion of {model}", LOWER, names={"model": _VAE_MODELS}),
    *_scores("14_stiefel_rkm", "bvae|strkm"),
    CatalogueEntry("14_stiefel_rkm", r"squared_error_(?P<model>bvae|strkm)",
           "squared reconstruction error per image of {model}", LOWER, names={"model": _VAE_MODELS}),
    CatalogueEntry("15_cmi_disentanglement", r"cmi_estimate_gaussian",
           "shuffle-critic estimate of a conditional MI on Gaussians", "closer to the truth (in the note)"),
    CatalogueEntry("15_cmi_disentanglement", r"cmi_minus_mi_shifted",
           "shifted-test accuracy with the CMI penalty minus with the MI penalty", HIGHER),
    CatalogueEntry("15_cmi_disentanglement", r"shifted_accuracy_(?P<model>\w+)",
           "accuracy on the test set whose attribute correlation is reversed, with {model}", HIGHER,
           "1/3 (three bins)",
           names={"model": {"none": "no penalty", "mi": "the MI penalty", "cmi": "the CMI penalty"}}),
    CatalogueEntry("16_identifiability_clustering", r"mcc_(?P<model>\w+)",
           "mean correlation of {model}'s code with the true sources after matching (MCC)", "higher (1 at most)",
           names={"model": {"vae": "the VAE", "gmvae": "the GMM-VAE", "ivae": "the iVAE"}}),
    CatalogueEntry("17_fair_representations", r"acc_(?P<model>vae|adv|farcon_t|farcon_g)",
           "test accuracy of {model}'s binary classifier where colour and label are independent "
           "(bias 0.5)", HIGHER, "0.5 (two classes)", names={"model": _FAIR}),
    CatalogueEntry("17_fair_representations", r"acc_(?P<model>iid_\w+)",
           "test accuracy of {model}'s binary classifier on the training distribution (bias 0.9)",
           HIGHER, "0.5 (two classes)", names={"model": _FAIR}),
    CatalogueEntry("17_fair_representations", r"dp_(?P<model>\w+)",
           "demographic-parity gap of {model}'s predictions across colours (bias 0.5)",
           "lower (0 is parity)", names={"model": _FAIR}),
    CatalogueEntry("17_fair_representations", r"leak_(?P<model>\w+)",
           "accuracy of a fresh adversary reading the colour from {model}'s code", "lower (less leakage)",
           "about 0.5 (two colours)", names={"model": _FAIR}),
    CatalogueEntry("18_multimodal_vaes", r"(?P<model>[a-z]+)_(?P<direction>x_to_y|y_to_x|joint)_coherence",
           "{direction} coherence of {model}: share of generated pairs whose classes agree", HIGHER,
           _CLASSES10, names={"model": _MULTIMODAL, "direction": _DIRECTIONS}),
    CatalogueEntry("19_meme", r"(?P<model>[a-z]+)_(?P<direction>x_to_y|y_to_x)_coherence_0\.50_missing",
           "{direction} coherence of {model} trained with half the pairs' second modality missing", HIGHER,
           _CLASSES10, names={"model": _MULTIMODAL, "direction": _DIRECTIONS}),
    CatalogueEntry("20_multimodal_gan", r"digits_fashion_(?P<direction>x_to_y|y_to_x|joint)_coherence",
           "{direction} coherence of the multimodal GAN on digit-garment pairs", HIGHER, _CLASSES10,
           names={"direction": _DIRECTIONS}),
    CatalogueEntry("20_multimodal_gan", r"mixture_10pct_pairs_cross_coherence_x_to_y",
           "x → y coherence of the multimodal GAN on the mixture toy, trained with a tenth of the pairs",
           HIGHER, "0.125 (eight components)"),
    CatalogueEntry("21_wyner_common_information", r"digits_fashion_cross_coherence_x_to_y",
           "digit → garment coherence of the Variational Wyner model", HIGHER, _CLASSES10),
    CatalogueEntry("21_wyner_common_information", r"learned_ci_rho_0\.5",
           "common information the Variational Wyner model learns on a Gaussian pair with ρ = 0.5",
           "closer to the closed form (in the note)"),
)

def describe(chapter: str, metric: str) -> MetricDescription | None:
    """The description of ``metric`` as recorded by ``chapter`` (a file stem), or None when the
    catalogue has no entry for it."""
    for entry in CATALOGUE:
        found = entry.describe(chapter, metric)
        if found is not None:
            return found
    return None
