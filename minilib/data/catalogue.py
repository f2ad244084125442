"""The catalogue: every dataset of the book, with its folder, title, licence, citation,
official page, download sources and the files its curators built.

Plain data: :mod:`minilib.data.registry` turns each entry into a
:class:`~minilib.data.registry.Dataset`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from . import derived
from .sources import RemoteArchive, RemoteFiles, github_raw

__all__ = ["ENTRIES"]


# --------------------------------------------------------------------------------------
# builders


def _derived(func_name: str) -> Callable[[Path], bytes]:
    """The builder ``derived.<func_name>``; a wrong name fails at import, not later."""
    return getattr(derived, func_name)


# --------------------------------------------------------------------------------------
# datasets

_SAE = github_raw("Amshoreline/SAE", "9dec17b16f507bce2bf7cdcba03bf52ce33ad38a")
_SAE_CITE = (
    "Zhang, C., Hu, Z., Jiang, C., Chen, W., Xu, J., Zhang, S. (2025). Rethinking the "
    "generalization of drug "
    "target affinity prediction algorithms via similarity aware evaluation. ICLR 2025."
)
_KUAISIM = github_raw(
    "Applied-Machine-Learning-Lab/KuaiSim", "2ae32aa25a0aac103194a66e6864e3d2ac6d6580"
)
_KUAIRAND_1K_LOG = github_raw(
    "RobertDeLaCruzNEU/CS7180-GROUP-007-RecSys",
    "c059823aeae253453822f62f2a0ceda13b8b7c36",
)
_DEEPDTA = github_raw("hkmztrk/DeepDTA", "a546a8433a6822e958f36171c4356ad6f414d623")
_SAE_URL = "https://github.com/Amshoreline/SAE"


def _sae(
    name: str, file: str, target: str, bibkeys: tuple[str, ...], origin: str
) -> dict:
    licence = (
        f"no licence stated (Amshoreline/SAE); research use with citation; {origin}"
    )
    return dict(
        name=name,
        folder=name,
        title=f"SAE benchmark: {target}",
        licence=licence,
        citation=_SAE_CITE,
        bibkeys=bibkeys,
        url=_SAE_URL,
        sources=(RemoteFiles(_SAE, f"demo_input/{file}", file),),
    )


# : One entry per dataset: the keyword arguments of
# :class:`~minilib.data.registry.Dataset`.
ENTRIES: list[dict] = [
    dict(
        name="kuairand",
        folder="kuairand",
        title=(
            "KuaiRand: KuaiRand-Pure feature tables and the KuaiRand-1K "
            "random-exposure log"
        ),
        licence="CC BY-SA 4.0",
        citation=(
            "Gao, C. et al. (2022). KuaiRand: An Unbiased Sequential Recommendation "
            "Dataset with Randomly Exposed Videos. CIKM 2022."
        ),
        bibkeys=("gao2022kuairand",),
        url="https://kuairand.com/",
        sources=(
            RemoteFiles(
                _KUAISIM,
                "dataset/kuairand/kuairand-Pure/data/",
                "",
                pattern="*_pure.csv",
            ),
            RemoteFiles(_KUAISIM, "dataset/kuairand/kuairand-Pure/LICENSE", "LICENSE"),
            RemoteFiles(
                _KUAIRAND_1K_LOG,
                "data/KuaiRand-1K/data/log_random_4_22_to_5_08_1k.csv",
                "log_random_4_22_to_5_08_1k.csv",
            ),
        ),
    ),
    _sae(
        "sae_ic50_egfr",
        "IC50_EGFR.csv",
        "IC50 for EGFR",
        ("zhang2025sae", "gilson2016bindingdb"),
        "BindingDB records (terms: free use with citation)",
    ),
    _sae(
        "sae_ic50_bace1",
        "IC50_BACE1.csv",
        "IC50 for BACE1",
        ("zhang2025sae", "gilson2016bindingdb"),
        "BindingDB records (terms: free use with citation)",
    ),
    _sae(
        "sae_ki_ca1",
        "Ki_Carbonic_anhydrase_I.csv",
        "Ki for carbonic anhydrase I",
        ("zhang2025sae",),
        "origin of the records not stated upstream",
    ),
    _sae(
        "sae_ki_ca2",
        "Ki_Carbonic_anhydrase_II.csv",
        "Ki for carbonic anhydrase II",
        ("zhang2025sae",),
        "origin of the records not stated upstream",
    ),
    dict(
        name="bindingdb",
        folder="bindingdb",
        title="BindingDB IC50, 401 targets (SAM-DTA distribution)",
        licence=(
            "Apache-2.0 (huzqatpku/SAM-DTA); BindingDB terms for the records (free "
            "use with citation)"
        ),
        citation=(
            "Hu, Z. et al. (2023). SAM-DTA: a sequence-agnostic model for drug-target "
            "binding affinity prediction. Briefings in Bioinformatics 24(1). Gilson, "
            "M. K. et al. (2016). BindingDB in 2015. NAR."
        ),
        bibkeys=("hu2023samdta", "karimi2019deepaffinity", "gilson2016bindingdb"),
        url="https://github.com/huzqatpku/SAM-DTA",
        sources=(
            RemoteArchive(
                "https://codeload.github.com/huzqatpku/SAM-DTA/tar.gz/1cfd70186798631f4b1493b1dc7f3e4477eacb27",
                members=(
                    (
                        "SAM-DTA-1cfd70186798631f4b1493b1dc7f3e4477eacb27/datasets/raw_dataset/",
                        "raw_dataset/",
                    ),
                    (
                        "SAM-DTA-1cfd70186798631f4b1493b1dc7f3e4477eacb27/datasets/seqs.txt",
                        "seqs.txt",
                    ),
                ),
            ),
        ),
    ),
    dict(
        name="davis",
        folder="davis",
        title="Davis kinase binding affinities (DeepDTA distribution)",
        licence=(
            "no licence stated (hkmztrk/DeepDTA); measurements from Davis et al. "
            "(2011); research use"
        ),
        citation=(
            "Davis, M. I. et al. (2011). Comprehensive analysis of kinase inhibitor "
            "selectivity. Nature Biotechnology 29(11). Öztürk, H. et al. (2018). "
            "DeepDTA. Bioinformatics 34(17)."
        ),
        bibkeys=("davis2011kinase", "ozturk2018deepdta"),
        url="https://github.com/hkmztrk/DeepDTA",
        sources=(RemoteFiles(_DEEPDTA, "data/davis/", ""),),
    ),
    dict(
        name="kiba",
        folder="kiba",
        title="KIBA kinase bioactivities (DeepDTA distribution)",
        licence=(
            "no licence stated (hkmztrk/DeepDTA); scores from Tang et al. (2014); "
            "research use"
        ),
        citation=(
            "Tang, J. et al. (2014). Making sense of large-scale kinase inhibitor "
            "bioactivity data sets. JCIM 54(3). He, T. et al. (2017). SimBoost. J. "
            "Cheminform. 9."
        ),
        bibkeys=("tang2014kiba", "he2017simboost", "ozturk2018deepdta"),
        url="https://github.com/hkmztrk/DeepDTA",
        sources=(RemoteFiles(_DEEPDTA, "data/kiba/", ""),),
    ),
    dict(
        name="davis2017",
        folder="davis2017",
        title="DAVIS 2017: 10 whole single-object sequences at 480p",
        licence="CC BY-NC 4.0 (DAVIS); some sequences from YouTube, see their terms",
        citation=(
            "Pont-Tuset, J. et al. (2017). The 2017 DAVIS Challenge on Video Object "
            "Segmentation. arXiv:1704.00675. Perazzi, F. et al. (2016). CVPR."
        ),
        bibkeys=("ponttuset2017davis", "perazzi2016davis"),
        url="https://davischallenge.org/davis2017/code.html",
        sources=(
            RemoteFiles(
                github_raw(
                    "xmican10/KNN-project", "80880aeb900a0a1a7b010f111d4f33d0a5d25e05"
                ),
                "DAVIS/JPEGImages/480p/",
                "JPEGImages/480p/",
            ),
            RemoteFiles(
                github_raw(
                    "xmican10/KNN-project", "80880aeb900a0a1a7b010f111d4f33d0a5d25e05"
                ),
                "DAVIS/Annotations/480p/",
                "Annotations_davis2016/480p/",
            ),
            RemoteFiles(
                github_raw(
                    "albertomontesg/davis-interactive",
                    "1fdb0c89b278a4c57188699cea397dee0a28dc15",
                ),
                "davisinteractive/session/test_data/DAVIS/Annotations/480p/",
                "Annotations/480p/",
            ),
            RemoteFiles(
                github_raw(
                    "yk-pku/Two-shot-Video-Object-Segmentation",
                    "2c1c1c797298177a7cef860c18a98b89dcf9817e",
                ),
                "util/davis_subset.txt",
                "ImageSets/2017/train.txt",
            ),
        ),
        builders={
            "ImageSets/2017/val.txt": _derived("davis2017_val_txt"),
            "ImageSets/2017/train_present.txt": _derived("davis2017_train_present_txt"),
            "ImageSets/2017/val_present.txt": _derived("davis2017_val_present_txt"),
        },
    ),
    dict(
        name="coco",
        folder="coco",
        title=(
            "COCO 2017 subset: 128 train + 128 val images (coco128) with 80-class "
            "labels"
        ),
        licence=(
            "annotations CC BY 4.0; each image keeps its Flickr licence (see the COCO "
            "licences table)"
        ),
        citation=(
            "Lin, T.-Y. et al. (2014). Microsoft COCO: Common Objects in Context. "
            "ECCV 2014."
        ),
        bibkeys=("lin2014coco", "kirillov2019panoptic"),
        url="https://cocodataset.org/",
        sources=(
            RemoteFiles(
                "http://images.cocodataset.org/{path}",
                "",
                "images/",
                pattern="images/*.jpg",
            ),
            RemoteFiles(
                github_raw(
                    "lightly-ai/coco128_yolo",
                    "6d6f7a059ea63efffdbe48aca2d52c04d4c510e9",
                ),
                "object_detection/labels/",
                "labels/",
            ),
            RemoteFiles(
                github_raw(
                    "lightly-ai/coco128_yolo",
                    "6d6f7a059ea63efffdbe48aca2d52c04d4c510e9",
                ),
                "panoptic_segmentation/annotations/panoptic_val2017.json",
                "annotations/panoptic_val2017.json",
            ),
            RemoteFiles(
                github_raw(
                    "developer0hye/COCO128", "47a3de30aaf7ad1c02105bd80598fb03ac0d0789"
                ),
                "annotations/instances_train2017.json",
                "annotations/instances_train2017.json",
            ),
        ),
    ),
    dict(
        name="label_embeddings",
        folder="label_embeddings",
        title=(
            "300-d GloVe label vectors and co-occurrence counts for COCO and VOC "
            "(ML-GCN)"
        ),
        licence=(
            "GloVe vectors PDDL 1.0; ML-GCN repository states no licence; COCO "
            "annotations CC BY 4.0"
        ),
        citation=(
            "Pennington, J. et al. (2014). GloVe. EMNLP 2014. Chen, Z.-M. et al. "
            "(2019). Multi-Label Image Recognition with Graph Convolutional Networks. "
            "CVPR 2019."
        ),
        bibkeys=("pennington2014glove", "chen2019mlgcn"),
        url="https://github.com/megvii-research/ML-GCN",
        sources=(
            RemoteFiles(
                github_raw(
                    "megvii-research/ML-GCN", "5517d6ff8012ead45c26a07b3a9d960cdaa0b9d1"
                ),
                "data/coco/",
                "",
                pattern="coco_*.pkl",
            ),
            RemoteFiles(
                github_raw(
                    "megvii-research/ML-GCN", "5517d6ff8012ead45c26a07b3a9d960cdaa0b9d1"
                ),
                "data/voc/",
                "",
                pattern="voc_*.pkl",
            ),
        ),
        builders={
            "coco_labels.txt": _derived("coco_labels_txt"),
            "voc_labels.txt": _derived("voc_labels_txt"),
        },
    ),
    dict(
        name="yalefaces",
        folder="yalefaces",
        title="Yale Face Database: 15 people x 11 conditions",
        licence="free for research with acknowledgement (Yale); no open licence",
        citation=(
            "Belhumeur, P. N., Hespanha, J. P., Kriegman, D. J. (1997). Eigenfaces "
            "vs. Fisherfaces. IEEE TPAMI 19(7)."
        ),
        bibkeys=("belhumeur1997eigenfaces",),
        url="http://cvc.cs.yale.edu/cvc/projects/yalefaces/yalefaces.html",
        sources=(
            RemoteFiles(
                github_raw(
                    "amahul/TNA010-Face-Recognition",
                    "0fbeeed638a5d16a6727b87e96d973f34796b8ed",
                ),
                "data/",
                "",
                pattern="subject*",
                remote_suffix=".gif",
            ),
        ),
    ),
    dict(
        name="extended_yaleb_cropped",
        folder="extended_yaleb_cropped",
        title=(
            "Extended Yale Face Database B, cropped: 38 people x 7 lighting directions"
        ),
        licence="research use with citation (Yale / UCSD); no open licence",
        citation=(
            "Georghiades, A. S. et al. (2001). From Few to Many. IEEE TPAMI 23(6). "
            "Lee, K.-C. et al. (2005). Acquiring Linear Subspaces for Face "
            "Recognition under Variable Lighting. IEEE TPAMI 27(5)."
        ),
        bibkeys=("georghiades2001fewtomany", "lee2005acquiring"),
        url="http://vision.ucsd.edu/~leekc/ExtYaleDatabase/ExtYaleB.html",
        sources=(
            RemoteFiles(
                github_raw(
                    "Uranium2/recognition", "55008b5f2ab707eb7ae4464daa727d30b858d488"
                ),
                "CroppedYale/",
                "CroppedYale/",
            ),
        ),
    ),
    dict(
        name="ebhi_seg",
        folder="histology/ebhi_seg",
        title="EBHI-Seg: colorectal H&E patches with lesion masks (267-pair subset)",
        licence="CC BY 4.0",
        citation=(
            "Shi, L. et al. (2023). EBHI-Seg: a novel enteroscope biopsy "
            "histopathological hematoxylin and eosin image dataset for image "
            "segmentation tasks. Frontiers in Medicine."
        ),
        bibkeys=("shi2023ebhiseg",),
        url="https://doi.org/10.6084/m9.figshare.21540159",
        sources=(
            RemoteFiles(
                github_raw(
                    "emhaihsan/EBHI-Segmentation",
                    "211f175d5a7c3f84cd2ef8fe214b6ba70533c0eb",
                ),
                "EBHI-SEG/",
                "EBHI-SEG/",
            ),
        ),
        builders={"manifest.csv": _derived("ebhi_manifest_csv")},
    ),
]
