"""Plots between characters: a friendship quarrel and making up; helping an animal in
trouble (who later helps back); and a fear that a friend helps the hero face."""

from __future__ import annotations

from data_gen.stories import beats, details
from data_gen.stories import grammar as g
from data_gen.stories.story import Story

GAMES = (  # (what they make, past, the thing made, how it breaks by accident)
    ("build a sand castle", "built a sand castle", "castle", "stepped on the castle and it fell down"),
    ("build a tower of blocks", "built a tall tower of blocks", "tower", "bumped the tower and it fell over"),
    ("draw a big picture", "drew a big picture", "picture", "spilled water on the picture"),
    ("make a snowman", "made a snowman", "snowman", "knocked the head off the snowman"),
    ("build a little house of sticks", "built a little house of sticks", "house", "sat on the little house and broke it"),
    ("make a necklace of shells", "made a long necklace of shells", "necklace", "pulled the string and the shells fell off"),
    ("build a boat of paper", "folded a paper boat", "boat", "dropped the boat in a puddle"),
)


def quarrel(s: Story) -> None:
    w, r = s.w, s.rng
    hero = w.child(s.cast)
    friend = w.child(s.cast, avoid_names=(hero.name,), animal=hero.kind not in ("girl", "boy"))
    beats.introduce(s, hero)
    s.add(s.pick(f"{s.who(hero, 'poss')} best friend was {s.meet(friend, hero, plain=True)}",
                 f"{s.who(hero)} had a best friend, {s.meet(friend, hero)}",
                 f"{s.meet(friend, hero)} lived {s.pick('next door', 'down the street', 'near the park', 'across the road')}"))
    s.add("They", s.pick("played together every day", "did everything together", "liked the same games",
                         "were always together", "liked to " + s.pick("run", "sing", "dig", "draw", "play ball") + " together"))
    s.setting = w.setting(outdoor=True)
    s.para()
    s.add(s.opener("start"), s.name(hero), "and", s.name(friend), s.pick("went", "ran", "walked", "raced"), "to the", s.setting.place.word)
    beats.scene(s)
    details.some_detail(s, hero, 0.8)
    if r.random() < 0.5:
        toy = w.thing("toy")
        s.add("They found", g.a(toy.described(r)), s.pick("on the grass", "by the tree", "near the gate", "under a bench", "in the sand"))
        s.say(hero, s.pick(g.line("I want to", s.use(toy), "it first", end="!"), g.line("It's mine! I saw it first", end="!"),
                           g.line("Give it to me", end="!"), g.line("Let me have it", end="!")))
        s.say(friend, s.pick(g.line("No, I saw it first! It's my turn", end="!"), g.line("No! I want it", end="!"),
                             g.line("You always go first. Not this time", end="!")))
        s.add(s.pick("They both pulled", "Each of them pulled", "They pushed and pulled"), s.its(toy), s.pick("hard", "and pulled", "as hard as they could"), "and",
              s.pick(f"the {toy.noun} broke", f"the {toy.noun} fell in the mud", "no one had fun anymore", f"the {toy.noun} flew into a bush"))
        cause, fix = (s.pick(f"fought over the {toy.noun}", f"both wanted the {toy.noun}"), f"take turns with the {toy.noun}")
    else:
        make, made, noun, accident = r.choice(GAMES)
        s.add("They", made, s.pick("", "together", "that was very big", "and it was " + s.pick("great", "so pretty", "very tall")))
        s.add(s.opener(), s.name(friend), s.pick("ran to", "turned to", "jumped up to"),
              s.pick("look at a bird", "get more sticks", "catch a butterfly", "chase a bee", "wave at a dog"), "and", accident)
        s.say(hero, s.pick(g.line("You broke our", noun, end="!"), g.line("Look what you did! Now it is ruined", end="!"),
                           g.line("Why did you do that", end="?"), g.line("Our", noun, "is gone! It's all your fault", end="!")))
        s.say(friend, s.pick(g.line("It was not my fault", end="!"), g.line("I did not mean to", end="!"),
                             g.line("It was an accident", end="!"), g.line("I am not the only one who was not careful", end="!")))
        s.add(s.who(hero), "was", s.pick("angry", "upset", "mad", "very cross"), "and said", s.pick("mean", "unkind"), "words")
        cause, fix = (f"{s.pick('fought', 'were angry', 'had a fight')} about the {noun}", make)
    s.para()
    s.add(s.name(friend), s.pick("walked away", "went home", "ran off", "left"),
          s.pick("", "and did not look back", "feeling sad", "with tears in " + s.pron(friend, "poss") + " eyes"))
    details.some_detail(s, hero, 0.3, most=1)
    s.add(s.who(hero), "stayed", s.pick("alone", "by " + s.pron(hero, "refl"), "there"), "but", s.pron(hero),
          s.pick("did not feel good", "felt bad inside", "was not happy", "missed " + s.name(friend, "obj")))
    s.add(s.pick("Playing alone was not fun", "Everything was quiet", "The day did not feel bright anymore",
                 f"The {s.setting.place.word} was no fun without a friend", "Even the birds seemed sad"))
    if r.random() < 0.5:
        mom = w.family(s.cast, hero)
        s.add(s.pick("At home,", "That evening,", "At dinner,"), s.name(hero), "told", s.name(mom, "obj"), "that they", cause)
        s.say(mom, s.pick(g.line("Friends make mistakes. Maybe you can say sorry to each other"),
                          g.line("Being angry will not fix it. Being kind will"),
                          g.line("How do you think", s.name(friend), "feels", end="?"),
                          g.line("A good friend is worth more than any toy")), to=hero)
        s.add(s.who(hero), s.pick("thought about it", "knew " + s.name(mom) + " was right", "nodded slowly"))
    s.para()
    s.add(s.opener("later"), s.who(hero), s.pick("went to find", "knocked on the door of", "walked over to"), s.name(friend, "obj"))
    s.say(hero, s.pick(g.line("I am sorry I was mean. I miss playing with you"), g.line("I am sorry. Can we be friends again", end="?"),
                       g.line("I was wrong. Will you play with me again", end="?"), g.line("Sorry I got so angry")), to=friend)
    s.say(friend, s.pick(g.line("I am sorry too", end="!"), g.line("Yes! I missed you", end="!"),
                         g.line("Me too. Let's not fight again"), g.line("Of course! You are my best friend", end="!")), to=hero)
    s.add(beats.hug(s, hero, friend))
    s.add(s.pick("Then", "After that,", "So"), "they", s.pick("decided to", "agreed to", "chose to"), fix, s.pick("together", "and share", ""))
    s.add("It was", s.pick("even better than before", "more fun than ever", "the best one yet", "twice as much fun"))
    s.para()
    beats.lesson(s, hero, s.pick("friends forgive each other", "saying sorry can fix a friendship",
                                 "it is better to be kind than to be right", "good friends share and take turns"))


TROUBLES = (  # (animal tags, the trouble, what fixes it, the fact the story remembers)
    (("bird",), "had a hurt wing and could not fly", ("put it in a soft box", "gave it water", "kept it warm"), "wing"),
    (("pet",), "was stuck up in a tall tree", ("got a ladder", "climbed up slowly", "helped it down"), "stuck"),
    (("water",), "was stuck in an old net", ("cut the net", "set it free", "put it back in the water"), "net"),
    (("farm",), "was lost and crying for its mom", ("walked it back to the farm", "found its mom"), "lost"),
    (("woods",), "was very hungry and cold", ("gave it some food", "wrapped it in a warm blanket"), "hungry"),
    (("bug",), "was stuck on its back and could not turn over", ("turned it over with a leaf",), "stuck"),
)


def helping(s: Story) -> None:
    w, r = s.w, s.rng
    hero = w.child(s.cast, animal=False)
    beats.introduce(s, hero)
    s.setting = w.setting(outdoor=True)
    tags, trouble, fixes, fact = r.choice(TROUBLES)
    critter = w.creature(s.cast, *tags)
    s.para()
    s.add(s.opener("start"), s.who(hero), s.pick("was walking", "was playing", "went for a walk", "was picking flowers",
                                                  "was looking for shells" if s.setting.place.word in ("beach", "sea") else "was running"),
          s.setting.where())
    beats.scene(s)
    details.some_detail(s, hero, 0.8)
    s.add(s.who(hero), s.pick("heard a small sound", "saw something move", "heard a soft cry", "saw something strange"),
          s.pick("near a bush", "by the path", "behind a rock", "under a tree", "in the tall grass", "next to the fence"))
    s.add(s.pick("It was", "There was"), g.a(f"{s.pick('little', 'small', 'young', 'tiny', 'poor')} {critter.kind}"),
          s.pick("and it", "that"), trouble)
    s.state["trouble"] = fact
    s.say(hero, s.pick(g.line(s.pick("Oh no, poor", "Poor little"), critter.kind + ". I will help you", end="!"),
                       g.line("Don't be scared, little", critter.kind + ". I am here to help"),
                       g.line("What happened to you", end="?") + " " + g.line("Let me help", end="!")))
    helper = w.family(s.cast, hero) if r.random() < 0.5 else None
    steps = g.join_list(list(fixes))
    if helper is not None:
        s.add(s.who(hero), s.pick("ran to get", "called for", "went home to get"), s.name(helper, "obj"))
        s.say(helper, s.pick(g.line("You did the right thing to get me"), g.line("Let's help it together"),
                             g.line("We must be very gentle")), to=hero)
        s.add(s.pick("Together they", "They"), steps)
    else:
        s.add(s.who(hero), s.pick("was careful and", "was brave and", "thought hard, then", "did not give up and"), steps)
    s.para()
    details.some_detail(s, hero, 0.4, most=1)
    if fact == "wing":
        s.add(s.pick(s.opener("later"), "After a few days,"), "the", critter.kind, "could", s.pick("fly again", "flap its wings again"))
    elif fact == "hungry":
        s.add("The", critter.kind, "ate all the food and", s.pick("fell asleep", "stopped shaking", "looked happy"))
    else:
        s.add("The", critter.kind, s.pick("was so happy", "jumped for joy", "was safe now", "was free at last"))
    s.add(s.name(critter), s.pick("looked at", "came close to", "made a happy sound for", "turned to"), s.name(hero, "obj"),
          s.pick("as if to say thank you", "and seemed to smile", "for a long moment"))
    if r.random() < 0.6:
        s.para()
        lost = s.pick("ball", "hat", "key", "ring", "shoe", "mitten", "coin")
        s.add(s.opener("later"), s.who(hero), s.pick("dropped", "lost"), s.pron(hero, "poss"), lost,
              s.pick("in the tall grass", "near the pond", "in the snow" if s.setting.weather == "snowy" else "in the bushes", "by the river"),
              "and could not find it")
        s.add(s.opener(), s.name(critter), "came", s.pick("back", "by", "out of nowhere"),
              s.pick("and found it", "and brought it to " + s.name(hero, "obj"), "with the " + lost + " in its mouth"))
        s.add(s.pick("Now", "This time,"), s.name(critter), "had helped", s.name(hero, "obj"))
    beats.feel(s, hero, True, because=s.pick("helping felt good", f"the {critter.kind} was safe", f"{s.pron(hero)} had a new friend"))
    s.add(s.pick("From then on,", "After that day,", "Since then,"), s.name(hero), "and", s.name(critter),
          s.pick("were good friends", "were best friends", "looked out for each other"))
    beats.ending(s, [hero, critter], ("played together", "play together"))


FEARS = (  # (what scares, what to try, how it turns out)
    ("the dark", "sleep with the light off", ["the room was dark, but the moon was shining in the window",
                                              "the shadows were only toys and a chair", "the dark was quiet and soft"]),
    ("deep water", "swim in the lake", ["the water was cool and nice", "little fish swam around the rocks",
                                       "floating felt like flying"]),
    ("the big slide", "go down the big slide", ["it was fast and the wind blew in " + "{P}" + " hair",
                                               "whoosh, down " + "{S}" + " went into the sand", "the slide was not so tall after all"]),
    ("loud thunder", "watch the storm from the window", ["the thunder was loud, but it could not hurt them",
                                                         "the rain made a pretty sound on the roof", "the storm went away soon"]),
    ("big dogs", "pet the big dog next door", ["the dog was soft and licked " + "{P}" + " hand", "the dog wagged its tail",
                                              "the dog just wanted to play"]),
    ("climbing high", "climb the old tree", ["from the top " + "{S}" + " could see the whole town", "the branches were strong",
                                             "a bird sat on the branch next to " + "{O}"]),
    ("the doctor", "go to the doctor", ["the doctor was kind and gave " + "{O}" + " a sticker", "it did not hurt at all",
                                        "the doctor had funny glasses and a warm smile"]),
)


def fear(s: Story) -> None:
    w, r = s.w, s.rng
    hero = w.child(s.cast)
    friend = w.family(s.cast, hero) if r.random() < 0.5 else w.child(s.cast, avoid_names=(hero.name,))
    beats.introduce(s, hero)
    s.setting = w.setting(outdoor=True)
    scary, act, turns_out = r.choice(FEARS)
    details.some_detail(s, hero, 0.5)
    s.add(s.pick("But", "There was one thing:", "Still,"), s.who(hero), "was", s.pick("scared", "afraid", "very scared"), "of", scary)
    s.para()
    s.add(s.opener("start"), s.meet(friend, hero), s.pick("wanted", "asked", "told"), s.name(hero, "obj"), "to", act)
    s.say(hero, s.pick(g.line("No, I can't! I am too scared", end="!"), g.line("I don't want to", end="!"),
                       g.line("What if something bad happens", end="?"), g.line("Maybe next time", end="."),
                       g.line("I am scared of", scary, end="!")), to=friend)
    s.say(friend, s.pick(g.line("I will be right here with you. Let's try together"), g.line("It is okay to be scared. We can go slowly"),
                         g.line("You are braver than you think", end="!"), g.line("I was scared too when I was little"),
                         g.line("Hold my hand. I will not let go")), to=hero)
    s.add(s.who(hero), s.pick("took a deep breath", "thought about it", "looked at " + s.name(friend, "obj"), "was quiet for a moment"),
          s.pick("", "and held " + s.name(friend, "poss") + " hand", "and nodded"))
    s.add(s.who(hero), s.pick("tried, just a little at first", "decided to try", "tried it slowly", "said yes, in a very small voice"))
    s.add(s.fill(r.choice(turns_out), hero))
    s.add(s.pick("It was not so bad", "It was not scary at all", "It was fun", "It was even fun", "It was easy"), end="!")
    s.para()
    details.some_detail(s, hero, 0.6)
    s.add(s.opener("later"), s.who(hero), s.pick("wanted to", "asked to", "could not wait to"), act, s.pick("again and again", "again", "every day"))
    beats.feel(s, hero, True, because=s.pick(f"{s.pron(hero)} was not afraid of {scary} anymore", f"{s.pron(hero)} had been brave",
                                             f"{s.pron(hero)} did it", f"{scary} was not so scary after all"))
    beats.lesson(s, hero, s.pick("being brave means trying even when you are scared", "a friend can make you brave",
                                 "things are not so scary when you try", "it is okay to be scared and try anyway"))
