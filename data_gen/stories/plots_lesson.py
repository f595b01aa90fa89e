"""Plot: a lesson. The hero does something unwise (will not share, does not listen, eats
too many sweets, tells a fib, wants things right now), the consequence follows from it, a
grown-up or friend helps, and the hero changes: the last sentences say what was learned."""

from __future__ import annotations

from data_gen.stories import beats, details
from data_gen.stories import grammar as g
from data_gen.stories.story import Story


def _sharing(s: Story, hero, adult) -> str:
    friend = s.w.child(s.cast, avoid_names=(hero.name,))
    toy = s.w.thing("toy", owner=hero)
    s.add(s.who(hero), "had", g.a(toy.described(s.rng)), "and", s.pron(hero), "did not like to share it")
    s.add(s.opener("start"), s.name(friend), "came to play", s.pick("", s.setting.where()))
    s.say(friend, g.line("Can I", s.use(toy), "your", toy.noun + ", please", end="?"), to=hero)
    s.say(hero, s.one(lambda: g.line("No! It is mine", end="!"), lambda: g.line("No, you can't. It's my", toy.noun, end="!")))
    s.add(s.name(friend), "was sad and went home", s.pick("", "without a word", "slowly"))
    s.para()
    s.add(s.who(hero), s.used(toy) , s.its(toy), "by", s.pron(hero, "refl"), "but it was not fun anymore")
    s.add("It was", s.pick("too quiet", "boring", "no fun to play alone"))
    s.say(adult, g.line("Toys are more fun when we share them"), to=hero)
    s.add(s.opener("later"), s.who(hero), "went to", s.name(friend, "poss"), "house and", s.pick("said sorry", "said, \"I am sorry\""))
    s.say(hero, g.line("Do you want to", s.use(toy), "my", toy.noun, "with me", end="?"), to=friend)
    s.add(s.name(friend), "smiled, and they", s.used(toy), s.its(toy), "together", s.pick("all afternoon", "until dinner", "for a long time"))
    return s.pick("sharing is caring", "it is more fun to play together", "sharing makes friends happy")


def _not_listening(s: Story, hero, adult) -> str:
    danger = s.rng.choice([
        ("run in the kitchen", "slipped on the wet floor", "knee", "hurt"),
        ("climb the old fence", "fell off the fence", "arm", "hurt"),
        ("play with the ball in the house", "hit the lamp with the ball", "lamp", "broke"),
        ("touch the hot soup", "touched the pot", "hand", "hurt"),
        ("go near the pond alone", "slipped into the cold water", "clothes", "wet"),
    ])
    do, happened, part, effect = danger
    s.say(adult, g.line(s.pick("Please don't", "Be careful and don't", "You must not"), do), to=hero)
    s.add("But", s.who(hero), s.pick("did not listen", "wanted to have fun", "thought it would be fine"))
    s.add(s.opener(), s.who(hero), happened)
    if effect == "broke":
        s.add("The", part, "fell down and broke into many pieces", s.pick("", "with a loud crash"))
    elif part == "clothes":
        s.add(s.who(hero, "poss"), "clothes were all wet and", s.pron(hero), "was very cold")
    else:
        s.add(s.who(hero, "poss"), part, "hurt", s.pick("a lot", "very much", "and " + s.pron(hero) + " started to cry"))
    s.state["effect"] = (part, effect)
    s.para()
    s.add(s.name(adult), s.pick("came running", "ran to " + s.name(hero, "obj"), "heard the noise"))
    s.say(hero, g.line("I am sorry. I did not listen to you"), to=adult)
    if effect == "broke":
        s.say(adult, g.line("I am glad you are not hurt. We can fix the lamp, but next time, please listen"))
        s.add("Together they cleaned up the pieces")
    else:
        s.say(adult, g.line("Thank you for saying sorry. I told you so you would be safe"))
        s.add(s.who(adult), s.pick("helped", "took care of"), s.name(hero, "obj"), "and soon", s.pron(hero), "felt better")
    return s.pick("it is good to listen to your " + adult.kind, "rules are there to keep us safe", "being careful is important")


def _too_many_sweets(s: Story, hero, adult) -> str:
    sweet = s.w.pick("food", "sweet", pos="noun")
    plural = s.w.v.get(sweet, "noun").form(0)
    s.add(s.name(adult), "made", s.pick("some", "a big plate of", "a lot of"), plural if plural != sweet else sweet, "for the family")
    s.say(adult, g.line("You can have one now, and the rest are for after dinner"), to=hero)
    s.add("But when no one was looking,", s.who(hero), "ate one, then another, and then", s.pick("another", "two more", "all of them"))
    s.add(s.opener(), s.who(hero, "poss"), "tummy started to hurt")
    s.state["hurt"] = "tummy"
    s.say(hero, g.line(s.pick("Oh no,", "Ouch,"), "my tummy hurts", end="!"))
    s.para()
    s.add(s.name(adult), "saw the empty plate and knew what had happened")
    s.say(adult, g.line("Too many sweets are not good for you. Now there are none left to share"), to=hero)
    s.add(s.who(hero), "felt bad, because", s.pron(hero, "poss"), s.pick("brother", "sister", "dad", "friend"), "wanted some too")
    s.add(s.who(hero), "drank some water and rested, and the next day", s.pron(hero), "helped to make more", plural)
    return s.pick("too much of a good thing can be bad", "it is better to wait and share")


def _fib(s: Story, hero, adult) -> str:
    pet = s.w.pick("animal", "pet", pos="noun")
    thing = s.pick("cup", "vase", "plate", "bowl", "jar")
    s.add(s.who(hero), "was", s.pick("playing", "dancing", "running"), "in the house and", s.pick("bumped", "hit"), "the table")
    s.add("A", s.pick("pretty", "blue", "big", "old"), thing, "fell and broke")
    s.add("When", s.name(adult), "asked what happened,", s.who(hero), "was scared")
    s.say(hero, g.line("The", pet, "did it", end="!"), to=adult)
    s.add("So the", pet, "had to stay outside", s.pick("all night", "in the cold", "all day"), "and looked very sad")
    s.para()
    s.add(s.who(hero), "could not sleep", s.pick("", "that night"), "because", s.pron(hero), "knew it was not true")
    s.add(s.opener("later"), s.who(hero), "went to", s.name(adult, "obj"))
    s.say(hero, g.line("It was me. I broke the", thing + ". I am sorry"), to=adult)
    s.say(adult, g.line("Thank you for telling me the truth. That was brave"), to=hero)
    s.add("They let the", pet, "back in, and", s.who(hero), "gave it a", s.pick("big hug", "treat", "soft pat"))
    return s.pick("telling the truth is always best", "it is brave to be honest", "a lie can hurt others")


def _patience(s: Story, hero, adult) -> str:
    plant = s.w.pick("plant", pos="noun")
    s.add(s.name(adult), "gave", s.name(hero, "obj"), "a little seed", s.pick("", "to plant"))
    s.say(adult, g.line("If you plant it and give it water, it will grow into", g.a(plant)))
    s.add(s.who(hero), "put the seed in the", s.pick("ground", "garden", "pot"), "and watered it")
    s.add("The next morning,", s.who(hero), "ran outside, but nothing was there")
    s.say(hero, g.line("It did not grow", end="!"), to=adult)
    if s.chance(0.5):
        s.add(s.who(hero), "wanted to dig it up to look, but", s.name(adult), "said no")
    s.say(adult, g.line("Plants need time. You have to wait and take care of it every day"))
    s.para()
    s.add("So every day,", s.who(hero), "gave the seed water and", s.pick("sang to it", "talked to it", "waited"))
    s.add(s.opener("later"), "a little green", s.pick("leaf", "sprout"), "came out of the ground")
    s.add("It grew and grew, and one day it was", g.a(f"{s.pick('big', 'tall', 'pretty', 'beautiful')} {plant}"))
    return s.pick("good things take time", "it pays to be patient", "waiting can be worth it")


LESSONS = (_sharing, _not_listening, _too_many_sweets, _fib, _patience)


def lesson(s: Story) -> None:
    w, r = s.w, s.rng
    hero = w.child(s.cast, animal=r.random() < 0.2)
    beats.introduce(s, hero)
    s.setting = w.setting(outdoor=r.random() < 0.5)
    adult = w.family(s.cast, hero)
    s.para()
    details.some_detail(s, hero, 0.7)
    learned = r.choice(LESSONS)(s, hero, adult)
    s.para()
    beats.lesson(s, hero, learned)
    if s.chance(0.6):
        beats.feel(s, hero, True)
