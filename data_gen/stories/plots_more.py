"""More plot shapes: a surprise for someone, a day trip, a race, a magic find, a new friend.

Each follows the same rules as the others: state set early (what the gift is, who fell,
what was wished for) decides what later sentences can say.
"""

from __future__ import annotations

from data_gen.stories import beats, details
from data_gen.stories import grammar as g
from data_gen.stories.story import Story

GIFTS = (  # (what one makes, the made thing, what it needs)
    ("make a card", "card", ("paper", "crayons", "glue")), ("bake a cake", "cake", ("eggs", "milk", "sugar")),
    ("paint a picture", "picture", ("paper", "paint", "a brush")), ("make a necklace", "necklace", ("string", "beads", "shells")),
    ("pick flowers", "flowers", ("a basket", "a ribbon")), ("build a bird house", "bird house", ("wood", "nails", "paint")),
    ("make cookies", "cookies", ("flour", "butter", "sugar")), ("sew a little bag", "bag", ("cloth", "thread", "buttons")),
    ("write a song", "song", ("a pencil", "paper")), ("make a crown", "crown", ("paper", "glue", "shiny stickers")),
)


def surprise(s: Story) -> None:
    w, r = s.w, s.rng
    hero = w.child(s.cast)
    for_whom = w.family(s.cast, hero)
    beats.introduce(s, hero, habit=0.5)
    make, made, needs = r.choice(GIFTS)
    occasion = s.pick("birthday", "special day", "birthday")
    s.para()
    s.add(s.opener("start"), s.who(hero), s.pick("remembered", "knew", "found out"), "that it was", s.name(for_whom, "poss"), occasion,
          s.pick("soon", "the next day", "that week"))
    s.add(s.who(hero), s.pick("wanted to", "decided to", "had an idea: to"), make, "for", s.pron(for_whom, "obj"),
          s.pick("as a surprise", "all by " + s.pron(hero, "refl"), "to show " + s.pron(for_whom, "obj") + " " + s.pron(hero, "poss") + " love"))
    s.add(s.pick("First,", "So"), s.who(hero), "found", g.join_list(list(needs)))
    details.some_detail(s, hero, 0.4, most=1)
    problem = r.randrange(4)
    if problem == 3:
        pet = s.w.pick("animal", "pet", pos="noun")
        s.add(s.opener(), "the", pet, s.pick("jumped on the table", "ran into the room", "wanted to help"), "and",
              s.pick("knocked everything over", "took the " + needs[-1].split()[-1], "sat right on it"))
        s.add(s.who(hero), s.pick("laughed", "sighed", "was cross for a moment"), "and", s.pick("started again", "tried once more", "fixed it"))
    elif problem == 0:
        s.add(s.opener(), s.who(hero), s.pick("dropped", "spilled", "knocked over"), "the", needs[0].split()[-1], "and made a big mess")
        s.add(s.who(hero), s.pick("almost cried", "felt like giving up", "sat down on the floor"))
        helper = w.child(s.cast, avoid_names=(hero.name,))
        s.add(s.opener(), s.meet(helper, hero), s.pick("came over", "knocked on the door", "came to play"))
        s.say(helper, s.pick(g.line("Don't give up! I can help you"), g.line("Let's clean it up and try again")), to=hero)
        s.add("Together they", s.pick("cleaned up and started again", "tried again, slowly this time", "worked and worked"))
    elif problem == 1:
        s.add(s.who(hero), s.pick("had to hide it", "had to keep it a secret"), "so", s.name(for_whom), "would not see")
        s.add(s.opener(), s.name(for_whom), s.pick("almost came into the room", "walked by the door", "asked what " + s.pron(hero) + " was doing"))
        s.say(hero, s.pick(g.line("Nothing! Don't come in", end="!"), g.line("It's a secret", end="!"), g.line("Please close your eyes", end="!")))
        s.add(s.who(hero), s.pick("hid it under", "put it behind", "covered it with"), "a", s.pick("blanket", "pillow", "box", "towel"), "just in time")
    else:
        s.add(s.who(hero), s.pick("worked", "tried"), s.pick("all morning", "for a long time", "all day"), "but it was hard")
        s.add(s.pick("The first one", "It"), s.pick("did not look right", "was not very good", "came out wrong"), "so", s.who(hero), "made another one")
    s.para()
    s.add(s.pick("At last,", "Finally,", "In the end,"), "the", made, "was ready", s.maybe(0.5, "and it was " + s.pick("beautiful", "perfect", "lovely", "a little funny")))
    s.add("On the", occasion + ",", s.who(hero), s.pick("gave", "showed"), "it to", s.name(for_whom, "obj"))
    s.say(hero, s.pick(g.line("Surprise! I made it for you", end="!"), g.line("Happy", occasion + "! This is for you", end="!")), to=for_whom)
    s.add(s.name(for_whom), s.pick("smiled a big smile", "had tears of joy", "laughed and clapped", "was so surprised"))
    s.say(for_whom, s.pick(g.line(s.pick("It is the best gift ever", "I will keep it forever", "It is so beautiful"), end="!"), g.line("Thank you! I love it", end="!"),
                           g.line("You made this all by yourself", end="?")), to=hero)
    s.add(beats.hug(s, for_whom, hero))
    beats.lesson(s, hero, s.pick("a gift made with love is the best gift", "giving feels as good as getting", "hard work is worth it"))


TRIPS = (  # (where, what they see, what one does there)
    ("zoo", ("lion", "monkey", "giraffe", "elephant", "zebra", "panda", "bear"), "feed the goats"),
    ("farm", ("cow", "pig", "sheep", "horse", "hen", "goat", "duck"), "ride a pony"),
    ("beach", ("crab", "fish", "seal", "bird"), "build a sand castle"),
    ("lake", ("duck", "frog", "fish", "swan", "turtle"), "sail a little boat"),
    ("forest", ("deer", "squirrel", "owl", "fox", "rabbit"), "look for acorns"),
)


def trip(s: Story) -> None:
    w, r = s.w, s.rng
    hero = w.child(s.cast, animal=False)
    grown = w.family(s.cast, hero)
    beats.introduce(s, hero, habit=0.5)
    where, animals, activity = r.choice(TRIPS)
    s.setting = w.setting(outdoor=True)
    s.para()
    s.add(s.opener("start"), s.name(grown), "took", s.name(hero, "obj"), "to the", where)
    s.add(s.who(hero), "was so", s.pick("excited", "happy", "glad"), "that", s.pron(hero), s.pick("could not sit still", "sang all the way", "jumped up and down"))
    seen = r.sample(animals, min(len(animals), r.randint(2, 3)))
    s.add("At the", where + ",", "they saw", g.join_list([s.pick(g.a(s.adj("size", 0.5) + " " + a if s.chance(0.5) else a), s.pick("two", "three", "some") + " " + w.v.get(a, "noun").form(0)) for a in seen]))
    details.some_detail(s, hero, 0.8)
    s.add(s.who(hero), s.pick("liked the", "loved the", "laughed at the"), seen[0], "most of all")
    s.para()
    trouble = r.randrange(3)
    if trouble == 0:
        s.add(s.opener(), s.who(hero), "could not see", s.name(grown, "obj"), "anymore")
        s.add(s.who(hero), "was lost", s.pick("and started to cry", "and felt very scared", "and did not know what to do"))
        s.add(g.a(s.pick("kind", "friendly", "nice")), s.w.pick("neighbor", pos="noun"), s.pick("saw", "found"), s.name(hero, "obj"))
        s.say(hero, s.pick(g.line("I can't find my", grown.kind, end="!"), g.line("I am lost", end="!")))
        s.add("They looked together, and", s.pick("soon", "after a little while"), s.who(hero), "saw", s.name(grown, "obj"))
        s.add(s.name(grown), s.pick("ran to", "hugged", "picked up"), s.name(hero, "obj"))
        s.say(grown, g.line("Always stay close to me", end="!"), to=hero)
        learned = "it is important to stay close in a big place"
    elif trouble == 1:
        s.add(s.pick("Then", "Suddenly"), "it started to rain", s.pick("", "hard", "a lot"))
        s.add("They ran to", s.pick("a big tree", "a little shed", "the car"), "and waited")
        s.add("When the rain stopped, they saw", g.a(s.pick("big rainbow", "rainbow", "pretty rainbow")), "over the", where)
        learned = "even a rainy day can have a happy end"
    else:
        s.add("They", s.pick("wanted to", "got to"), activity)
        s.add(s.who(hero), s.pick("was a little scared at first", "did not know how", "tried but it was hard"))
        s.say(grown, s.pick(g.line("You can do it", end="!"), g.line("Just try, I am here")), to=hero)
        s.add(s.who(hero), "tried again and", s.pick("did it", "it was fun", "loved it"))
        learned = "trying new things can be fun"
    s.para()
    s.add(s.pick("On the way home,", "That night,", "In the car,"), s.who(hero), s.pick("told", "asked"), s.name(grown, "obj"),
          s.pick("about the " + seen[-1], "if they could come back soon"))
    s.say(hero, s.pick(g.line("That was the best day ever", end="!"), g.line("Can we go again", s.pick("tomorrow", "soon", "next week", ""), end="?")), to=grown)
    if s.chance(0.5):
        beats.lesson(s, hero, learned)
    else:
        s.add(s.who(hero), "fell asleep and dreamed of", s.w.v.get(seen[0], "noun").form(0))


CONTESTS = (  # (the contest, how one takes part, past, the mishap, who wins)
    ("running race", "run", "ran", ("fell down", "tripped over a stone", "slipped in the mud", "lost a shoe")),
    ("sack race", "hop", "hopped", ("fell over in the sack", "got stuck in the sack", "tripped and rolled on the grass")),
    ("swimming race", "swim", "swam", ("got water in the nose", "got a pain in the leg", "lost the way")),
    ("bike race", "ride", "rode", ("fell off the bike", "got a flat tire", "rode into a bush")),
    ("kite contest", "fly a kite", "flew a kite", ("got the kite stuck in a tree", "had a broken string")),
)


def race(s: Story) -> None:
    w, r = s.w, s.rng
    hero = w.child(s.cast)
    rival = w.child(s.cast, avoid_names=(hero.name,), animal=hero.kind not in ("girl", "boy"))
    beats.introduce(s, hero, habit=0.4)
    s.setting = w.setting(outdoor=True)
    contest, take_part, took_part, mishaps = r.choice(CONTESTS)
    s.para()
    s.add(s.opener("start"), "there was", g.a(s.pick("big ", "", "fun ", "little ") + contest), s.setting.where())
    details.some_detail(s, hero, 0.6, most=1)
    s.add(s.who(hero), s.pick("wanted to win more than anything", "really wanted to win", "had practiced every day",
                              "was a little nervous", "dreamed of the prize, " + g.a(s.adj("color", 0.9) + " " + s.pick("medal", "ribbon", "cup")).replace("  ", " ")))
    s.add(s.meet(rival, hero, plain=True), s.pick("was in the " + contest + " too,", "was there too,", "stood next to " + s.pron(hero, "obj") + ","),
          s.pick("and " + s.pron(rival) + " was very fast", "and " + s.pron(rival) + " was the best of all", "and " + s.pron(rival) + " looked strong"))
    s.add(s.pick("Ready, set, go", "One, two, three, go", "On your marks, go", "And they were off"), end="!")
    s.add(s.who(hero), s.adv(0.4), took_part, s.pick("as fast as " + s.pron(hero) + " could", "very fast", "with all " + s.pron(hero, "poss") + " might",
                                                     "and did not look back"))
    s.add(s.opener(), s.name(rival), r.choice(mishaps), "and", s.pick("could not go on", "started to cry", "looked very sad", "called for help"))
    s.para()
    if r.random() < 0.7:
        s.add(s.name(hero), "could", s.pick("win", "keep going", "be the first"), "but", s.pron(hero), s.pick("stopped", "turned back", "did not go on"))
        s.say(hero, s.pick(g.line("Are you okay? Let me help you"), g.line("Take my hand", end="!"), g.line("I will not leave you", end="!"),
                           g.line("Don't cry. We can finish together")), to=rival)
        s.add("They", s.pick("went", "finished", "made it"), s.pick("to the end together", "the rest of the way together", "side by side"))
        s.add(s.pick("They did not win, but", "They came last, but", "Other kids won, but"),
              s.pick("everyone cheered for them", "everyone clapped", "the crowd cheered the loudest for them", "the judge gave them a special prize"))
        learned = s.pick("helping a friend is better than winning", "kindness is worth more than a prize", "a true winner helps others")
    else:
        s.add(s.name(hero), s.pick("did not see it", "kept going", "did not stop"), "and won the", contest)
        s.add("But when", s.pron(hero), "saw", s.name(rival), s.pick("crying,", "sitting alone,", "looking sad,"), s.pron(hero), "did not feel happy")
        s.add(s.who(hero), "went back and gave", s.name(rival, "obj"), s.pick("half of the prize", "a hug", "the medal to hold", "a big smile"))
        learned = s.pick("winning is more fun when you share it", "a friend matters more than a prize")
    s.para()
    s.add(s.name(rival), s.pick("smiled", "said thank you", "was not sad anymore", "laughed"), "and they became",
          s.pick("good friends", "best friends", "friends"))
    if s.chance(0.4):
        s.add(s.pick("Next time,", "The next year,"), "they", s.pick("practiced together", "trained together every day", "were a team"))
    beats.lesson(s, hero, learned)


MAGIC = (("stone", "glowed"), ("shell", "sang"), ("feather", "sparkled"), ("key", "shone"), ("coin", "glowed"), ("box", "hummed"),
         ("ring", "sparkled"), ("bell", "rang"), ("acorn", "glowed"), ("button", "shone"))


def _wish_food(s, hero, friend):
    food = s.w.v.get(s.w.pick("food", "sweet", pos="noun"), "noun").form(0)
    s.say(hero, g.line("I wish for all the", food, "in the world", end="!"))
    s.add("At once,", food, s.pick("fell from the sky", "were everywhere", "filled the whole street", "came out of every door"))
    s.add("At first it was fun, but soon", s.who(hero), s.pick("had a tummy ache", "could not walk anywhere", "was sick of " + food))
    s.say(hero, s.pick(g.line("I wish it was like before", end="!"), g.line("Please, take them away", end="!")))
    return "having too much is not always good"


def _wish_fly(s, hero, friend):
    s.say(hero, g.line("I wish I could fly", end="!"))
    s.add(s.who(hero), "went up, up, up into the sky", s.pick("over the trees", "over the houses", "with the birds", "past the clouds"))
    s.add(s.pick("From up high,", "Down below,"), s.pick("the houses looked like toys", "the river looked like a blue ribbon", "the cows looked like ants"))
    s.add("It was fun, but", s.pron(hero), "was far from home and", s.pick("it got cold", "it was getting dark", "missed " + s.pron(hero, "poss") + " family"))
    return "there is no place like home"


def _wish_friend(s, hero, friend):
    s.add(s.who(hero), "thought of", s.meet(friend, hero, "obj"), "who was sick in bed")
    s.say(hero, g.line("I wish", s.name(friend), "could be well again", end="!"))
    s.add(s.opener("later"), s.name(friend), "came out to play,", s.pick("happy and well", "with a big smile", "as if nothing had happened"))
    return "the best wishes are for others"


def _wish_animals(s, hero, friend):
    animal = s.w.entry("animal", s.pick("bird", "pet", "farm", "woods"), pos="noun")
    s.say(hero, g.line("I wish I could talk to animals", end="!"))
    s.add(s.opener(), g.a(s.adj("size", 0.5) + " " + animal.word), "came by and said,",
          '"' + g.line(s.pick("Hello! Can you help me?", "Please help me, my home is broken.", "I am lost. Where is my family?")) + '"')
    s.add(s.who(hero), s.pick("helped it", "helped it all afternoon", "showed it the way home"), "and it", s.pick("sang a song for " + s.pron(hero, "obj"), "thanked " + s.pron(hero, "obj"), "was very happy"))
    return "listening to others can help them"


def _wish_toys(s, hero, friend):
    toy = s.w.pick("toy", pos="noun")
    s.say(hero, g.line("I wish my toys could play with me", end="!"))
    s.add(s.pick("All at once,", "Just then,"), "the", toy, "and all the other toys", s.pick("jumped up", "started to dance", "came to life"))
    s.add("They played", s.pick("all day", "for hours", "until night"), "but they made", s.pick("a big mess", "so much noise", "a mess in every room"))
    s.add(s.who(hero), "had to clean it all up", s.pick("by " + s.pron(hero, "refl"), "before dinner", "and it took a long time"))
    return "every wish has a price"


WISHES = (_wish_food, _wish_fly, _wish_friend, _wish_animals, _wish_toys)


def magic(s: Story) -> None:
    w, r = s.w, s.rng
    hero = w.child(s.cast)
    beats.introduce(s, hero, habit=0.5)
    s.setting = w.setting(outdoor=True)
    noun, did = r.choice(MAGIC)
    s.para()
    details.some_detail(s, hero, 0.6, most=1)
    s.add(s.opener("start"), s.who(hero), s.pick("found", "saw", "dug up", "picked up"), g.a(f"{s.adj('look', 0.4)} {s.adj('color', 0.6)} {noun}"),
          s.pick("under a tree", "in the sand", "by the river", "in the grass", "under a rock", "in an old box", s.setting.where()))
    s.add(s.pick("When " + s.pron(hero) + " held it,", "As soon as " + s.pron(hero) + " picked it up,", "In " + s.pron(hero, "poss") + " hand,"),
          "it", did, "and", s.pick("a little voice said", "a soft voice said", "it said", "a tiny voice said") + ",",
          '"' + s.pick(g.line("You can make one wish", end="."), g.line("I will give you one wish", end="."),
                       g.line("Make a wish, any wish", end="!"), g.line("You found me! Now you get a wish", end="!")) + '"')
    if s.chance(0.4):
        s.add(s.who(hero), s.pick("thought for a long time", "could not believe it", "looked around, but no one was there"))
    friend = w.child(s.cast, avoid_names=(hero.name,))
    learned = r.choice(WISHES)(s, hero, friend)
    s.para()
    s.add(s.pick("The", "Then the", "After that, the"), noun, s.pick("stopped glowing", "was just " + g.a(noun) + " again", "went quiet", "never spoke again"))
    s.add(s.who(hero), "kept it", s.pick("in a box", "on a shelf", "in " + s.pron(hero, "poss") + " pocket", "under " + s.pron(hero, "poss") + " pillow"),
          s.pick("to remember that day", "forever", "and never told anyone", ""))
    beats.lesson(s, hero, learned)


def new_friend(s: Story) -> None:
    w, r = s.w, s.rng
    hero = w.child(s.cast)
    hero.traits[0] = "shy"
    beats.introduce(s, hero, habit=0.8)
    s.setting = w.setting(outdoor=r.random() < 0.5)
    other = w.child(s.cast, avoid_names=(hero.name,))
    s.para()
    s.add(s.opener("start"), s.who(hero), s.pick("went to a new school", "moved to a new town", "went to the park alone", "joined a new class",
                                                  "went to a big party", "started at a new swim class", "visited " + s.pron(hero, "poss") + " grandma in the city"))
    s.add(s.who(hero), s.pick("did not know anyone", "had no friends there yet", "did not know a single kid", "missed " + s.pron(hero, "poss") + " old friends"), "and", s.pick("felt lonely", "stood by the wall", "sat alone"))
    details.some_detail(s, hero, 0.6, most=1)
    s.add(s.opener(), s.who(hero), "saw", s.meet(other, hero, "obj", plain=True), s.pick("playing alone", "sitting on a bench", "reading a book", "drawing " + g.a(w.pick("animal", pos="noun"))))
    s.add(s.name(other), "looked", s.pick("lonely", "a little sad", "shy", "like " + s.pron(other) + " wanted a friend"), s.pick("too", "as well", ""))
    s.add(s.who(hero), s.pick("wanted to say hello, but", "thought about going over, but"), s.pron(hero), "was too", s.pick("shy", "scared"))
    s.para()
    s.add(s.pick("Then", "At last,", "After a while,"), s.who(hero), "took a", s.pick("deep breath", "big step", "small step"), "and", s.pick("walked over", "went to " + s.name(other, "obj")))
    s.say(hero, s.pick(g.line("Hello! My name is", hero.name + ". Can I play with you", end="?"), g.line("Hi! What are you doing", end="?"),
                       g.line("I like your", s.pick("hat", "book", "picture", "shoes"), end="!")), to=other)
    s.say(other, s.pick(g.line("Yes! I was hoping someone would come", end="!"), g.line("Hi! I am new here too", end="!"),
                        g.line("Sure! Let's play together", end="!")), to=hero)
    game = s.pick("played tag", "drew pictures of " + s.w.v.get(s.w.pick("animal", pos="noun"), "noun").form(0), "ran and laughed",
                  "talked and played", "built a fort of " + s.pick("pillows", "blankets", "sticks", "boxes"), "played with " + s.pick("a ball", "blocks", "a kite"),
                  "looked for " + s.pick("bugs", "shells", "pretty stones", "snails"))
    s.add("They", game, s.pick("all day", "until it was time to go home", "for a long time", "all afternoon", "and laughed a lot"))
    details.some_detail(s, hero, 0.4, most=1)
    s.add(s.opener("later"), s.name(hero), "and", s.name(other), "were", s.pick("best friends", "good friends", "always together"))
    beats.lesson(s, hero, s.pick("saying hello is the first step to a new friend", "being brave can bring you a friend", "other kids can feel shy too"))
