"""Drug names in both languages: the protocol's lists hold lower-case English generic
names (trialsite.protocol); a site may type the Chinese generic name instead, and a reader
in 简体中文 sees the Chinese one."""

from __future__ import annotations

from django.utils.translation import get_language

# English generic name (as in trialsite.protocol's lists) -> Chinese generic name.
CHINESE_NAMES: dict[str, str] = {
    # immunosuppressants (INC3)
    "methotrexate": "甲氨蝶呤",
    "mycophenolate mofetil": "吗替麦考酚酯",
    "azathioprine": "硫唑嘌呤",
    "cyclophosphamide": "环磷酰胺",
    "ciclosporin": "环孢素",
    "tacrolimus": "他克莫司",
    "sirolimus": "西罗莫司",
    "leflunomide": "来氟米特",
    "iguratimod": "艾拉莫德",
    # glucocorticoids
    "prednisone": "泼尼松",
    "prednisolone": "泼尼松龙",
    "methylprednisolone": "甲泼尼龙",
    "hydrocortisone": "氢化可的松",
    "dexamethasone": "地塞米松",
    # biologics (EXC1) and the trial's drugs
    "rituximab": "利妥昔单抗",
    "belimumab": "贝利尤单抗",
    "telitacicept": "泰它西普",
    "abatacept": "阿巴西普",
    "tocilizumab": "托珠单抗",
    "tnf inhibitor": "肿瘤坏死因子抑制剂",
    "adalimumab": "阿达木单抗",
    "etanercept": "依那西普",
    "infliximab": "英夫利西单抗",
    "golimumab": "戈利木单抗",
    "certolizumab pegol": "赛妥珠单抗",
    "anakinra": "阿那白滞素",
    "other monoclonal antibody or fusion protein": "其他单克隆抗体或融合蛋白",
    # not counted
    "hydroxychloroquine": "羟氯喹",
    "nsaid": "非甾体抗炎药",
    "total glucosides of paeony": "白芍总苷",
    "traditional chinese medicine": "中药",
}
# Other Chinese names in common use for the same generic drug.
CHINESE_ALIASES: dict[str, str] = {
    "吗替麦考酚酯": "mycophenolate mofetil",
    "霉酚酸酯": "mycophenolate mofetil",
    "环孢素a": "ciclosporin",
    "环孢霉素": "ciclosporin",
    "甲氨喋呤": "methotrexate",
    "强的松": "prednisone",
    "强的松龙": "prednisolone",
    "甲强龙": "methylprednisolone",
    "美罗华": "rituximab",
    "倍力腾": "belimumab",
    "羟氯喹啉": "hydroxychloroquine",
    "硫酸羟氯喹": "hydroxychloroquine",
    "TNF抑制剂".lower(): "tnf inhibitor",
}
_ENGLISH: dict[str, str] = {zh: en for en, zh in CHINESE_NAMES.items()} | CHINESE_ALIASES


def normalised(name: str) -> str:
    """Lower case, single spaces: how names are compared."""
    return " ".join(name.lower().split())


def canonical(name: str) -> str:
    """The English generic name the protocol's lists use, for an English or Chinese name
    (吗替麦考酚酯 -> mycophenolate mofetil); an unknown name normalised as it is."""
    drug = normalised(name)
    return _ENGLISH.get(drug, _ENGLISH.get(drug.replace(" ", ""), drug))


def display_name(name: str) -> str:
    """The drug's name in the reader's language (the name as given when not known)."""
    if (get_language() or "").lower().startswith("zh"):
        return CHINESE_NAMES.get(canonical(name), name)
    return name
