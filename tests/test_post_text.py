"""Post text worth posting: hashtags from the script's key phrases (never a stopword), one text per platform within
its limits, and a call to action that fits the script instead of the same sentence on every short."""

import json
import re
from dataclasses import replace

import pytest
import stopwordsiso

from models.script.keywords import key_phrases, kind_of, tag_words
from models.script.rules import RuleScriptWriter
from models.types import Script, ScriptScene
from pipelines.post import PLATFORM_TAGS, call_to_action, post_document, post_for
from pipelines.scripting import script_from_creator

TOPICS = {
    "en": ["5 habits that changed my mornings", "How to fix a flat bike tyre in ten minutes",
           "Why do cats purr when they are happy?", "I quit sugar for a month and this is what happened",
           "The things that you should do more than you think", "What nobody tells you about the history of coffee"],
    "es": ["Unas ideas para que tus mañanas sean mejores", "Cómo preparar un café perfecto en casa",
           "¿Por qué los gatos ronronean cuando están contentos?", "Mi primer maratón y lo que aprendí de él",
           "7 consejos para dormir mejor esta noche", "Lo que nadie te cuenta sobre la historia del café"],
}
CREATOR = {
    "en": "Coffee is not breakfast. Eat something real before noon, and you will feel better than you think.\n"
          "Your future self will thank you for it. Who knew that a real breakfast could change your whole day?",
    "es": "El café no es un desayuno. Come algo de verdad antes del mediodía y te sentirás mucho mejor.\n"
          "Tu yo del futuro te lo agradecerá. ¿Quién diría que un desayuno de verdad cambia todo tu día?",
}


def _scripts(language):
    writer = RuleScriptWriter()
    scripts = [writer.write(t, language=language, target_words=60, seed=s) for s, t in enumerate(TOPICS[language])]
    scripts.append(script_from_creator(CREATOR[language], 100, language))
    # a language model's own suggestions, stopwords and numbers included: they must be filtered, not trusted
    scripts.append(replace(scripts[0], hashtags=("#the", "#you", "#unas", "#than", "#who", "#2024", "#ok", "#TheBest",
                                                 "#MorningRoutine", "#self-care")))
    return scripts


def _bad_tag(tag, language):
    """Why a hashtag is not worth posting, or ""."""
    stop = stopwordsiso.stopwords(language)
    body = tag[1:]
    if not tag.startswith("#") or not re.fullmatch(r"[^\W_]+", body):
        return "not one word"
    if body.casefold() in stop:
        return "a stopword"
    if any(c.isdigit() for c in body):
        return "a number"
    if len(body) < 3:
        return "too short"
    if all(w.casefold() in stop for w in tag_words(tag)):
        return "stopwords in CamelCase"
    return ""


@pytest.fixture(scope="module")
def platforms(studio):
    return [studio.settings.platform(name) for name in ("reels", "shorts", "tiktok")]


@pytest.mark.parametrize("language", ["en", "es"])
def test_no_hashtag_is_a_stopword_and_counts_follow_each_platform(language, platforms):
    assert stopwordsiso.has_lang(language)
    for script in _scripts(language):
        doc = post_document(script, platforms[0], platforms, language=language, seed=1)
        assert set(doc["platforms"]) == {"reels", "shorts", "tiktok"}
        for p in platforms:
            tags = doc["platforms"][p.name]["hashtags"]
            assert 1 <= len(tags) <= p.hashtags_max, (p.name, tags)
            assert len({t.casefold() for t in tags}) == len(tags), tags
            bad = {t: _bad_tag(t, language) for t in tags if _bad_tag(t, language)}
            assert not bad, (script.title, bad)
            assert set(PLATFORM_TAGS[p.name]) <= set(tags)
            assert any(t not in PLATFORM_TAGS[p.name] for t in tags), "only the platform's own tag"
        # the script engines' own hashtags are clean too (they are what the timeline and the editor show)
        if "#the" not in script.hashtags:
            assert not {t: _bad_tag(t, language) for t in script.hashtags if _bad_tag(t, language)}, script.hashtags


def test_instagram_gets_five_tags_at_most_and_topic_words_come_first(platforms):
    script = RuleScriptWriter().write("Why your morning routine fails", language="en", target_words=60, seed=0)
    reels = post_for(script, platforms[0], language="en")
    assert len(reels.hashtags) <= 5 and reels.hashtags[-1] == "#reels"
    assert reels.hashtags[0] == "#MorningRoutine", reels.hashtags  # the title's phrase, joined in CamelCase
    rich = script_from_creator(
        "Sourdough bread needs a lively starter. Feed the starter with flour and water every morning.\n"
        "Good sourdough bread rises slowly overnight. Bake the bread in a hot oven with steam. "
        "The oven and the steam give the crust its crackle. Flour, water, salt and time: nothing else.", 100, "en")
    reels, tiktok = (post_for(rich, p, language="en").hashtags for p in (platforms[0], platforms[2]))
    assert len(reels) == 5 and tiktok[-1] == "#fyp" and len(tiktok) > len(reels), (reels, tiktok)
    assert {"#sourdough", "#bread", "#starter"} <= set(reels) and {"#oven", "#flour"} <= set(tiktok), tiktok


def test_post_json_respects_each_platforms_limits(platforms):
    long_title = "A title far longer than any platform would ever show in full, " * 4
    script = Script(hook="Here is a hook.", scenes=(ScriptScene("Tomatoes love warm soil and plenty of sun.", "", 0.0),),
                    call_to_action="", title=long_title, caption="Growing tomatoes at home. " * 300, hashtags=())
    tight = replace(platforms[0], name="tight", caption_max_chars=60, title_max_chars=20, hashtags_max=2)
    doc = post_document(script, platforms[1], [*platforms, tight], language="en")
    assert set(doc["platforms"]) == {"reels", "shorts", "tiktok", "tight"}
    for p in [*platforms, tight]:
        post = doc["platforms"][p.name]
        assert len(post["title"]) <= p.title_max_chars, (p.name, len(post["title"]))
        assert len(post["caption"]) <= p.caption_max_chars, (p.name, len(post["caption"]))
        assert len(post["hashtags"]) <= p.hashtags_max
        assert post["caption"].endswith(" ".join(post["hashtags"]))  # the tags are never the part cut off
        assert post["title"].endswith("…") and post["caption"].split("\n\n")[0].endswith("…")
    # the top level is the short's own platform, as before
    assert {k: doc[k] for k in ("title", "caption", "hashtags")} == doc["platforms"]["shorts"]


def test_call_to_action_fits_the_script():
    writer = RuleScriptWriter()

    def cta(topic, language="en"):
        return call_to_action(writer.write(topic, language=language, target_words=60, seed=0), language, seed=0)

    listing, howto, question = cta(TOPICS["en"][0]), cta(TOPICS["en"][1]), cta(TOPICS["en"][2])
    assert len({listing, howto, question}) == 3, (listing, howto, question)
    assert any(w in listing.lower() for w in ("which", "these")), listing  # a list asks which item
    assert "save" in howto.lower() or "try it" in howto.lower(), howto
    assert kind_of(TOPICS["es"][1], "es") == "howto" and kind_of(TOPICS["es"][3], "es") == "story"
    assert cta(TOPICS["es"][1], "es") != cta(TOPICS["es"][4], "es")


@pytest.mark.parametrize("language", ["en", "es"])
def test_two_topics_never_end_in_the_same_sentence(language, platforms):
    writer = RuleScriptWriter()
    captions, spoken = [], []
    for topic in TOPICS[language]:
        script = writer.write(topic, language=language, target_words=60, seed=0)
        body = post_for(script, platforms[0], language=language).caption.split("\n\n")[0]
        captions.append(body[len(script.caption):].strip())  # what the caption adds after the script's own words
        spoken.append(script.call_to_action)
    assert len(set(captions)) >= 4, captions  # was one sentence on every short
    assert len(set(spoken)) >= 4, spoken  # the voice's sign-off varies by topic too
    assert all(c != s for c, s in zip(captions, spoken)), "the caption repeats what the voice said"


def test_same_script_and_seed_give_the_same_post(platforms):
    script = RuleScriptWriter().write(TOPICS["en"][0], language="en", target_words=60, seed=4)
    assert post_document(script, platforms[0], platforms, seed=4) == post_document(script, platforms[0], platforms,
                                                                                   seed=4)


def test_scripts_without_spaces_give_words_not_clauses(platforms):
    ja = script_from_creator("朝のルーティンで人生が変わる。毎朝コーヒーを飲む。健康的な朝食を食べる。朝食は大切だ。", 100,
                             "ja")
    zh = script_from_creator("早起的好处。每天早上喝一杯水，对健康很有好处。", 100, "zh")
    for script, language in ((ja, "ja"), (zh, "zh")):
        tags = post_for(script, platforms[2], language=language).hashtags
        words = [t for t in tags if t not in PLATFORM_TAGS["tiktok"]]
        assert all(2 <= len(t) - 1 <= 6 for t in words), tags  # a word or a compact phrase, never a sentence
        assert not any(re.search(r"[\u3040-\u309f]", t) for t in words), tags  # no hiragana particles
        assert not any(t[1:] in stopwordsiso.stopwords(language) for t in words), tags
    assert {"#ルーティン", "#人生", "#朝食"} <= set(post_for(ja, platforms[2], language="ja").hashtags)


def test_longer_phrases_win_when_said_together():
    phrases = key_phrases([("Why your morning routine fails", 3.0),
                           ("A morning routine needs one habit. Your morning routine is too long.", 1.0)], "en")
    assert phrases[0] == ("morning", "routine")
    assert ("morning",) not in phrases and ("routine",) not in phrases  # one tag per idea


def test_made_short_post_json_has_every_platform(topic_short, studio):
    post = json.loads(topic_short.post.read_text(encoding="utf-8"))
    assert set(post["platforms"]) == set(studio.settings.platforms) == {"reels", "shorts", "tiktok"}
    assert {k: post[k] for k in ("title", "caption", "hashtags")} == post["platforms"][post["platform"]]
    for name, text in post["platforms"].items():
        p = studio.settings.platform(name)
        assert len(text["title"]) <= p.title_max_chars and len(text["caption"]) <= p.caption_max_chars
        assert 1 <= len(text["hashtags"]) <= p.hashtags_max
        assert not [t for t in text["hashtags"] if _bad_tag(t, "en")], text["hashtags"]
        assert text["caption"].endswith(" ".join(text["hashtags"]))
