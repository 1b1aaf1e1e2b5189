"""`i18n check` on single entries: the glossary term by term, numbers as values written each
language's way, list items, and the characters that may not start a line."""

import pytest

from site_builder import i18n
from site_builder.config import SiteConfig
from site_builder.i18n import Glossary, check_translation
from site_builder.i18n_checks import LINE_START, number_values

GLOSSARY = Glossary(
    terms={
        "channel": "通道",
        "depth-wise convolution": "逐通道卷积",
        "convolution": "卷积",
        "kernel": "卷积核",
    }
)


def problems(english: str, translation: str, glossary: Glossary = GLOSSARY) -> list[str]:
    return check_translation(english, translation, glossary)


def test_a_term_inside_another_terms_translation_does_not_count():
    english = "A depthwise convolution mixes each channel alone."
    assert problems(english, "逐通道卷积单独混合每个通道。") == []
    # 频道 is a TV channel; 通道 inside 逐通道卷积 stands for "depthwise convolution"
    assert problems(english, "逐通道卷积单独混合每个频道。") == [
        "glossary: 'channel' should be translated as '通道'"
    ]


def test_a_translation_may_stand_for_two_joined_terms():
    assert problems("Each convolution kernel is small.", "每个卷积核都很小。") == []
    assert problems("The convolution uses a kernel.", "该运算使用卷积核。") == [
        "glossary: 'convolution' should be translated as '卷积'"
    ]


@pytest.mark.parametrize(
    "english, translation",
    [
        ("It does 342 million multiply-adds.", "它做 3.42 亿次乘加。"),
        ("It does 342 million multiply-adds.", "3 億 4,200 万回の積和を行う。"),
        ("It has 1,638,400 parameters.", "它有 163.84 万个参数。"),
        ("Train for 25 epochs at 0.01.", "以 0.01 训练 ２５ 轮。"),  # full-width digits
        ("Use conv2d on 50,000 images.", "对 5 万张图像使用 conv2d。"),
        ("The first step.", "第 1 步。"),  # a number the translation adds
    ],
)
def test_numbers_written_the_languages_own_way_pass(english, translation):
    assert problems(english, translation, Glossary()) == []


def test_a_number_missing_or_changed_is_caught():
    assert problems("It has 1,638,400 parameters.", "它有 16.384 万个参数。", Glossary()) == [
        "numbers missing or changed: the English has 1638400"
    ]
    assert problems("Batch 128, 50 epochs.", "批量 128。", Glossary()) == [
        "numbers missing or changed: the English has 50"
    ]
    assert number_values("a 3×3 kernel, x1, v2b") == {3: 2}


def test_list_items_merged_or_dropped_are_caught():
    english = "Two steps:\n\n- cut the image\n- mix the patches\n"
    assert problems(english, "两步：\n\n- 切分图像\n- 混合图像块\n", Glossary()) == []
    merged = "两步：\n\n- 切分图像，混合图像块\n"
    assert problems(english, merged, Glossary()) == [
        "list items merged or dropped: the English's lists have 2 items; this has 1"
    ]


@pytest.mark.parametrize("character", list(LINE_START))
def test_each_character_that_may_not_start_a_line_is_caught(character):
    found = problems("First. Second.", f"第一\n{character}第二", Glossary())
    assert found == [f"'{character}' starts a line: join it to the sentence before"]


def test_the_labels_of_figures_are_checked_as_plain_text(tmp_path):
    """`_site.po` holds the title and the figures' labels: words and numbers are checked, and
    Markdown-looking text in them (`*`, brackets) is not read as structure."""
    po = tmp_path / "docs/locale/zh/LC_MESSAGES/_site.po"
    po.parent.mkdir(parents=True)
    po.write_text(
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "* per element"\nmsgstr "逐元素 *"\n\n'
        'msgid "repeated 8 times"\nmsgstr "重复 6 次"\n',
        encoding="utf-8",
    )
    (tmp_path / "pkg").mkdir()
    config = SiteConfig(tmp_path, tmp_path / "pkg", tmp_path / "site", tmp_path / "docs")
    assert [problem.split(": ", 1)[1] for problem in i18n.check(config, ["zh"], [])] == [
        "numbers missing or changed: the English has 8"
    ]


@pytest.mark.parametrize(
    "lang, translation",
    [("de", "Es hat 1.638.400 Parameter, 3,42 Mio. Schritte."),
     ("fr", "Il a 1\u202f638\u202f400 paramètres, 3,42 millions de pas.")],
)  # fmt: skip
def test_numbers_in_a_languages_own_notation_pass(lang, translation):
    english = "It has 1,638,400 parameters, 3.42 million steps."
    assert check_translation(english, translation, Glossary(), lang=lang) == []
    assert check_translation(english, translation.replace("3,42", "3,24"), Glossary(), lang=lang)
