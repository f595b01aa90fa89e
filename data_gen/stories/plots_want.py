"""Plot: a want and an obstacle. The hero wants something, meets a reason it cannot have it
(too high, too dear, too far, bad weather), fails once in a way that leaves a mark the
story remembers, then gets it with help or a better idea."""

from __future__ import annotations

from data_gen.stories import beats, details
from data_gen.stories import grammar as g
from data_gen.stories.story import Story

NUMBERS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _too_high(s: Story, hero, thing, helper) -> None:
    high = s.pick("on a high shelf", "on top of the big cupboard", "up in a tall tree", "on the roof of the shed",
                  "on top of the " + s.pick("closet", "fridge", "wall", "bookshelf"), "on a branch high above")
    s.add(s.pick("But", "The problem was that", "But there was a problem:"), s.its(thing), "was", high)
    s.add(s.who(hero), s.pick("stood on", "went up on"), s.pron(hero, "poss"), "toes and reached up, but", s.pron(hero),
          s.pick("could not reach it", "was too small", "was not tall enough", "was still too short"))
    if s.chance(0.7):
        s.add(s.who(hero), s.pick("jumped and jumped", "tried to jump", "jumped as high as " + s.pron(hero) + " could", "stretched " + s.pron(hero, "poss") + " arms"),
              s.pick("but it was no use", "but it was still too high", "but " + s.pron(hero) + " could not get it", "but nothing worked"))
    if s.chance(0.6):
        seat = s.pick("chair", "box", "stool", "bucket")
        s.add(s.opener(), s.who(hero), "put", g.a(seat), "under it and climbed up")
        s.add("The", seat, s.pick("was not steady", "wobbled", "moved"), "and", s.who(hero), "fell down", s.pick("with a bump", "on the floor", ""))
        s.state["hurt"] = s.pick("knee", "arm", "hand", "elbow")
        s.add(s.who(hero, "poss"), s.state["hurt"], "hurt, and", s.pron(hero), s.pick("started to cry", "wanted to cry", "felt sad"))
    s.para()
    s.add(s.name(helper), s.pick("heard the noise and came", "saw " + s.name(hero, "obj") + " and came", "came to see what was wrong"))
    if s.state.get("hurt"):
        s.say(helper, g.line("Are you okay? Let me see your", s.state["hurt"], end="?"), to=hero)
        s.add(s.who(helper), s.pick("kissed", "looked at", "put a bandage on"), s.name(hero, "poss"), s.state["hurt"],
              "and it felt better")
    s.say(hero, s.pick(g.line(s.pick("I want", "I just wanted", "I wanted"), "the", thing.noun + ", but it is too high", end="!"),
                       g.line("The", thing.noun, "is too high for me", end="!"), g.line("Can you help me get the", thing.noun, end="?")))
    s.say(helper, s.one(lambda: g.line("Next time, ask me. I can help you."),
                        lambda: g.line("It is not safe to climb. Let me get it for you."),
                        lambda: g.line("I am tall. I can reach it", end="!")))
    s.add(s.who(helper), s.pick("reached up and got", "took down", "got", "easily reached"), s.its(thing),
          s.pick("and gave it to " + s.name(hero, "obj"), "and put it in " + s.name(hero, "poss") + " hands", ""))


def _costs_coins(s: Story, hero, thing, helper) -> None:
    price, have = s.rng.randint(4, 8), s.rng.randint(1, 3)
    s.add("It was in the window of the", s.pick("toy shop", "little shop", "store in town"), "and it cost", NUMBERS[price - 1], "coins")
    s.add(s.who(hero), "had only", NUMBERS[have - 1], "coin" if have == 1 else "coins", "in", s.pron(hero, "poss"), s.pick("piggy bank", "pocket", "little box"))
    need = price - have
    s.say(hero, g.line("How can I get", NUMBERS[need - 1], "more", "coin" if need == 1 else "coins", end="?"), to=helper)
    s.say(helper, s.one(lambda: g.line("You can help our neighbors. Maybe they will give you a coin or two."),
                        lambda: g.line("If you work hard, you can earn them", end="."),
                        lambda: g.line("Let's think. What can you do to help others", end="?")))
    s.para()
    jobs = s.rng.sample(["watered the flowers of", "helped carry the bags of", "fed the cat of", "swept the porch of",
                         "picked apples with", "walked the dog of", "washed the car of", "read a book to"], 2 if need > 1 else 1)
    first = s.rng.randint(1, min(3, need - 1)) if need > 1 else need
    pay = [first, need - first] if need > 1 else [need]  # the coins earned add up to what was missing
    neighbors = s.rng.sample(s.w.words("neighbor", pos="noun"), 2)
    for job, who, got in zip(jobs, neighbors, pay):
        s.add(s.opener(), s.who(hero), job, "the", s.pick("old", "kind", "nice", "busy", ""), who)
        s.add("The", who, "gave", s.pron(hero, "obj"), NUMBERS[got - 1], "coin" if got == 1 else "coins", s.maybe(0.5, "to say thank you"))
    s.add("Now", s.who(hero), "had", NUMBERS[price - 1], "coins,", s.pick("just enough", "enough", "just what " + s.pron(hero) + " needed"))
    s.add(s.who(hero), s.pick("ran", "went", "hurried"), "back to the shop and bought", s.its(thing))


def _too_far(s: Story, hero, thing, helper) -> None:
    across = s.pick("on the other side of the river", "at the top of the big hill", "far away in the woods")
    s.add("It was", across)
    s.add(s.who(hero), s.pick("walked and walked", "started to walk", "set off", "began the long walk"),
          s.pick("but the way was long", "but it was very far", "", "past " + g.a(s.pick("farm", "pond", "big rock", "old barn")) + " and " + g.a(s.pick("field", "bridge", "forest"))))
    s.state["tired"] = True
    s.add(s.who(hero, "poss"), "legs were tired and", s.pron(hero), "sat down", s.pick("on a rock", "under a tree", "in the grass"))
    s.para()
    s.add(s.opener(), s.name(helper), s.pick("came by", "saw " + s.name(hero, "obj"), "came along"),
          s.pick("in a little boat", "with a red wagon", "on " + s.pron(helper, "poss") + " bike", ""))
    s.say(helper, g.line("Why are you sitting here", end="?"), to=hero)
    s.say(hero, g.line("I want to get the", thing.noun, "but it is so far and I am so tired"))
    s.say(helper, s.one(lambda: g.line("Come with me! We can go together", end="!"),
                        lambda: g.line("Hop on! I will take you there", end="!")))
    s.add(s.pick("So they went together", "They went on together", "Off they went"), "and",
          s.pick("the way did not feel so long anymore", "they sang songs on the way", "they talked and laughed all the way"))
    s.add("Soon", s.who(hero), "had", s.its(thing), "in", s.pron(hero, "poss"), "hands")


def _bad_weather(s: Story, hero, thing, helper) -> None:
    s.setting.weather = "rainy"
    s.add(s.pick("But", "But that day,"), s.pick("it was raining", "the rain was falling hard", "a big storm came"))
    s.say(helper, g.line("You can't go outside in the rain. Wait until it stops"), to=hero)
    s.add(s.who(hero), s.pick("sat by the window", "looked out of the window", "waited and waited"), "and", s.pick("felt sad", "sighed", "was bored"))
    s.add("To pass the time,", s.who(hero), s.pick("drew a picture of", "made a little song about", "told " + s.name(helper, "obj") + " all about"),
          "the", thing.noun)
    s.para()
    s.add(s.opener(), "the rain stopped", s.pick("and the sun came out", "and the clouds went away", "and the birds began to sing"))
    if s.chance(0.6):
        s.add("There was a big rainbow in the sky", s.maybe(0.5, "and puddles everywhere"))
    s.add(s.who(hero), "put on", s.pron(hero, "poss"), s.pick("boots", "coat", "hat"), "and ran outside to get", s.its(thing))


OBSTACLES = (_too_high, _costs_coins, _too_far, _bad_weather)


def want_and_obstacle(s: Story) -> None:
    w, r = s.w, s.rng
    hero = w.child(s.cast)
    thing = w.thing("want")
    beats.introduce(s, hero)
    s.setting = w.setting(outdoor=r.random() < 0.6)
    helper = w.family(s.cast, hero) if r.random() < 0.6 else w.child(s.cast, avoid_names=(hero.name,))
    s.para()
    if helper.family_of is None:
        s.add(s.pick(f"{s.who(hero)} had a good friend, {s.meet(helper, hero, 'obj', plain=True)}",
                     f"{s.meet(helper, hero, plain=True)} lived next door to {s.name(hero, 'obj')}"))
        s.para()
        s.add(s.opener("start"), s.who(hero), s.pick("saw", "found", "spotted"), g.a(thing.described(r)))
    else:
        s.add(s.opener("start"), s.who(hero), s.pick("saw", "found", "spotted"), g.a(thing.described(r)))
    s.say(hero, s.one(lambda: g.line("I want that", thing.noun, end="!"),
                      lambda: g.line("Wow! I wish I had", g.a(thing.noun), end="!"),
                      lambda: g.line("Oh, what", g.a(f"{s.pick('pretty', 'nice', 'great', 'lovely')} {thing.noun}"), end="!")))
    s.add(s.who(hero), s.pick("wanted it very much", "really wanted it", "wanted to " + s.use(thing) + " it more than anything"))
    details.some_detail(s, hero, 0.6)
    r.choice(OBSTACLES)(s, hero, thing, helper)
    thing.owner = hero
    s.para()
    beats.feel(s, hero, True, because=f"{s.pron(hero)} finally had the {thing.noun}")
    if s.state.get("hurt") and s.chance(0.7):
        s.add(s.who(hero, "poss"), s.state["hurt"], "did not hurt anymore")
    if s.state.get("tired") and s.chance(0.7):
        s.add(s.who(hero), "was not tired anymore")
    s.say(hero, g.line("Thank you,", helper.name if helper.family_of is None else helper.kind.capitalize(), end="!"), to=helper)
    details.some_detail(s, hero, 0.5)
    s.add(s.who(hero), s.used(thing), s.its(thing), s.pick("all day", "until it was dark", "every day after that"))
    s.state["learned"] = s.pick("good things come to those who wait", "asking for help is a good idea",
                                "it feels good to work for what you want", "friends make hard things easy")
    if s.chance(0.5):
        beats.lesson(s, hero, s.state["learned"])
