"""Plot: lost and found. The hero loses a treasured thing for a reason the story sets up
(a hole in a pocket, a playful dog, the wind, a bird, a thing put down and forgotten), looks
in the wrong places, and finds it where that reason left it."""

from __future__ import annotations

from data_gen.stories import beats, details
from data_gen.stories import grammar as g
from data_gen.stories.story import Story


def _search(s: Story, hero, thing, avoid: str) -> None:
    """Two or three wrong places, each told differently."""
    spots = [e for e in s.w.v.tagged("spot", pos="noun") if e.word != avoid]
    for i, spot in enumerate(s.rng.sample(spots, s.rng.randint(2, 3))):
        where = f"{spot.facts.get('look', 'under')} the {s.adj('size', 0.2)} {spot.word}"
        shape = s.rng.randrange(6)
        if shape == 0:
            s.add(s.who(hero), s.pick("looked", "searched", "looked and looked", "looked everywhere"), where + ",",
                  s.pick("but it was not there", "but there was nothing", "but it was empty"))
        elif shape == 1:
            s.add(s.who(hero), s.pick("looked", "peeked", "checked"), where + ".", s.pick("There was only", "All " + s.pron(hero) + " found was"),
                  g.a(s.w.thing("junk").described(s.rng, 1)))
        elif shape == 2:
            s.add("It was not", where, s.maybe(0.5, "either") if i else "")
        elif shape == 3:
            s.add(s.who(hero), s.pick("checked", "looked"), where, s.pick("too", "next", ""))
            s.add(s.pick("No", "Still no", "There was no"), thing.noun, end="!" if s.chance(0.5) else ".")
        elif shape == 4:
            s.add(s.pick("Was it", "Maybe it was", "Could it be"), where, end="?")
            s.add(s.pick("No, it was not", "It was not there", "Nothing", "No luck"))
        else:
            s.add(s.who(hero), s.adv(0.5), s.pick("lifted", "moved", "pushed"), "the", spot.word, "and looked", s.pick("behind it", "under it"),
                  "but", s.pick("found nothing", "saw only dust", "it was not there"))


def _hole(s, hero, thing, helper):
    s.add(s.who(hero), "put", s.its(thing), "in", s.pron(hero, "poss"), s.pick("pocket", "bag", "coat pocket"),
          "and", s.pick("ran", "raced", "skipped", "hopped", "danced"), s.adv(0.3),
          s.pick("down the path", "across the grass", "along the road", "around the trees", "up the hill"))
    return ("in the grass by the path", lambda: (
        s.add(s.pick("Then", "Just then,", "Suddenly"), s.who(helper), s.pick("saw", "found", "noticed"),
              "a small hole in", s.name(hero, "poss"), s.pick("pocket", "bag")),
        s.say(helper, s.pick(g.line("Look, there is a hole! It must have fallen out when you ran", end="!"),
                             g.line("A hole! I think it fell out on the way"), g.line("So that is where it went. Let's go back", end="!")), to=hero),
        s.add(s.pick("So", "Together,", "Slowly,"), s.name(hero), "and", s.name(helper), s.pick("walked", "went"),
              "back", s.pick("along the path", "the way they came"), "looking", s.pick("down at the grass", "at every stone", "left and right"))))


def _dog(s, hero, thing, helper):
    dog = s.pick("dog", "puppy")
    s.add(s.who(hero), "put", s.its(thing), "down", s.pick("on the grass", "by a tree", "on the ground"), "to",
          s.pick("pick flowers", "look at a bug", "play on the swing", "tie " + s.pron(hero, "poss") + " shoe", "drink some water",
                 "pet a " + s.w.pick("animal", "farm", pos="noun")))
    s.add(g.a(f"{s.pick('playful', 'little', 'happy', 'big', 'fluffy', 'silly')} {s.adj('color', 0.5)} {dog}"),
          s.pick("saw it, picked it up and ran away", "ran by and took it in its mouth", "grabbed it and ran off"),
          s.pick("", "with it", "wagging its tail"))
    return (f"next to the {dog}", lambda: (
        s.add(s.opener(), "they heard", g.a(dog), "bark", s.pick("behind the fence", "near the gate", "by the tree", "under a bench")),
        s.add("The", dog, "was wagging its tail, and", s.pick("next to it", "between its paws", "in front of it"),
              "was something", s.pick("small", "familiar", "colorful", "shiny")),
        s.say(helper, s.pick(g.line("Maybe the", dog, "took it! It just wanted to play", end="!"),
                             g.line("Look! The", dog, "has it", end="!"), g.line("I think that", dog, "likes your", thing.noun, end="!")))))


def _wind(s, hero, thing, helper):
    s.setting.weather = "windy"
    s.add("The wind was", s.pick("strong", "very strong", "blowing hard", "wild"), s.pick("that day", "", "in the afternoon"))
    s.add(s.who(hero), s.pick("was holding", "held up", "was showing " + s.name(helper, "obj")), s.its(thing),
          "when a big wind", s.pick("came", "blew"), "and", s.pick("took it up into the air", "carried it away", "pulled it from " + s.pron(hero, "poss") + " hand"))
    return ("up in a tree", lambda: (
        s.add(s.who(helper), s.pick("looked up at the trees and", "looked around and then"), s.pick("pointed", "laughed", "smiled", "shouted")),
        s.say(helper, s.pick(g.line("Look up! The wind put it in the tree", end="!"), g.line("There, in the branches", end="!"),
                             g.line("It's up there", end="!")), to=hero),
        s.add(s.name(hero), "saw", s.its(thing), "in the branches", s.pick("high above", "way up high", "near the top", "of an old tree"))))


def _bird(s, hero, thing, helper):
    bird = s.pick("bird", "crow", "magpie")
    s.add(s.who(hero), "put", s.its(thing), s.pick("on a bench", "on a rock", "on the wall"), s.pick("in the sun", "for a moment", ""))
    s.add("It was so", s.pick("shiny", "bright", "pretty"), "that", g.a(f"{s.adj('size', 0.5)} {bird}"), "came down", s.pick("to look at it", "and took it"))
    return (f"in the {bird} nest", lambda: (
        s.add(s.opener(), s.who(helper), "saw", g.a(bird), "fly to a nest in a", s.pick("tree", "tall tree", "bush")),
        s.add("Something in the nest was", s.pick("shining", "shiny", "bright"), s.pick("in the sun", "like a star")),
        s.say(helper, s.pick(g.line("The", bird, "likes shiny things! I think it took it", end="!"),
                             g.line("Look! The", bird, "has it in its nest", end="!")))))


def _forgot(s, hero, thing, helper):
    seat = s.pick("bench", "swing", "wall", "rock", "slide")
    s.add(s.who(hero), "put", s.its(thing), "on the", seat, "to", s.pick("play tag", "climb a tree", "dig in the sand",
                                                                          "chase a butterfly", "build a fort", "feed the ducks"))
    s.add("When it was time to go home,", s.who(hero), "was so", s.pick("tired", "happy", "busy"), "that", s.pron(hero), "forgot all about it")
    return (f"on the {seat}", lambda: (
        s.say(helper, s.pick(g.line("Where did you have it last?"), g.line("Think. Where did you put it", end="?")), to=hero),
        s.add(s.name(hero), s.pick("thought and thought.", "closed " + s.pron(hero, "poss") + " eyes to think."), "Then", s.pron(hero),
              "remembered the", seat),
        s.say(hero, g.line("I put it on the", seat, "when I went to play", end="!"))))


CAUSES = (_hole, _dog, _wind, _bird, _forgot)


def lost_and_found(s: Story) -> None:
    w, r = s.w, s.rng
    hero = w.child(s.cast)
    thing = w.thing("lose", owner=hero)
    beats.introduce(s, hero, habit=0.4)
    beats.loves(s, hero, thing)
    s.setting = w.setting(outdoor=True)
    helper = (w.family(s.cast, hero) if r.random() < 0.5 and "giver" not in s.state else
              s.state.get("giver") or w.child(s.cast, avoid_names=(hero.name,)))
    s.para()
    s.add(s.opener("start"), s.who(hero), s.pick("went to", "walked to", "ran to", "went out to"), f"the {s.setting.place.word}",
          "with", s.meet(helper, hero, "obj"))
    details.some_detail(s, hero, 0.9, most=1) if r.random() < 0.5 else beats.scene(s)
    cause = r.choice(CAUSES)
    real_place, finding = cause(s, hero, thing, helper)
    s.para()
    s.add(s.pick(s.opener("later"), f"When {s.who(hero)} wanted to {s.use(thing)} it again,", f"On the way home, {s.who(hero)} saw that"),
          s.pick("the", s.pron(hero, "poss")) + " " + thing.noun, "was gone")
    s.say(hero, s.pick(g.line("Oh no! Where is my", thing.noun, end="?"), g.line("My", thing.described(r, 1), "is gone", end="!"),
                       g.line("I can't find my", thing.noun, end="!"), g.line("Has anyone seen my", thing.described(r, 1), end="?")))
    gift = "gift" in thing.state and s.state.get("giver")
    beats.feel(s, hero, False, because=(f"{s.name(s.state['giver'])} had given it to {s.pron(hero, 'obj')}" if gift and s.chance(0.6)
                                        else f"{s.pron(hero)} loved {s.pron(hero, 'poss')} {thing.noun} so much"))
    _search(s, hero, thing, avoid=real_place.split()[-1])
    s.para()
    s.say(helper, s.pick(g.line("Don't be sad. We will find it together."), g.line("Don't worry,", hero.name + ". Let's look again"),
                         g.line("I will help you look", end="!"), g.line("We will find it. I know we will")), to=hero)
    finding()
    s.add(s.pick("And there it was", "There it was", "And there was", "Right there was", "They found"),
          s.its(thing) if not s.chance(0.3) else "", s.pick("", real_place), end="!")
    if real_place.startswith("up") or s.chance(0.3):
        _get_back(s, hero, thing, helper)
    if s.chance(0.4):
        thing.state.add("dirty")
        s.add(s.its(thing), "was", s.pick("dirty", "muddy", "covered in dust", "a little wet"), "but", s.who(hero), "did not mind")
    s.para()
    beats.feel(s, hero, True, because=f"{s.pron(hero)} had {s.pron(hero, 'poss')} {thing.noun} back")
    s.add(s.pick(beats.hug(s, hero, helper), f"{s.who(hero)} jumped up and down", f"{s.who(hero)} held it close"))
    s.say(hero, s.pick(g.line("Thank you for helping me", end="!"), g.line("I will never lose it again", end="!"),
                       g.line("You are the best", s.pick("friend", "helper"), end="!"), g.line("I am so happy", end="!")), to=helper)
    if "dirty" in thing.state:
        s.add(s.pick("When they got home,", "At home,", "Later,"), s.who(hero), "washed", s.its(thing), "until it was",
              s.pick("clean and shiny", "clean again", "like new"))
    elif s.chance(0.6):
        s.add(s.opener("end"), s.who(hero), s.pick("always kept", "was careful with", "never let go of"), s.its(thing),
              s.pick("", "in a safe place", "close to " + s.pron(hero, "obj"), "in a box by " + s.pron(hero, "poss") + " bed"))


def _get_back(s: Story, hero, thing, helper) -> None:
    """When the thing is out of reach, getting it back is a small problem of its own."""
    shape = s.rng.randrange(3)
    if shape == 0:
        s.add("It was too high for", s.name(hero, "obj"), "to reach")
        s.add(s.who(helper), s.pick("got a long stick", "found a ladder", "climbed up carefully", "shook the branch"), "and got it down")
    elif shape == 1:
        s.add(s.who(helper), "reached out and", s.pick("picked it up", "gave it back to " + s.name(hero, "obj"), "got it"))
    else:
        s.add(s.who(hero), s.pick("ran to it as fast as " + s.pron(hero) + " could", "picked it up", "grabbed it with both hands"))
