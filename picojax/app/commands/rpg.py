"""`picojax rpg step "PROMPT"` and `picojax rpg check FILE`: the RPG engine on the command line."""

from __future__ import annotations

HELP = "the RPG engine: step one prompt, or check files of records against it"


def add_arguments(parser):
    tools = parser.add_subparsers(dest="tool", metavar="<tool>", required=True)
    step = tools.add_parser("step", help="print the canonical next state and result of one prompt",
                            description="Resolve one turn: prints '<state> | result=<result>'. "
                                        "Aliases are accepted; the closing ' => ' is optional.")
    step.add_argument("prompt", help='e.g. "turn=3 | knight hp=7/50 st=- cd=- | wolf hp=30/30 st=- cd=- | act=knight:heal:knight"')
    step.set_defaults(_tool=_step)
    check = tools.add_parser("check", help="check every record of a file against the engine (exit 1 if any disagree)",
                             description="Prints 'N of M records agree' per file and the first few that disagree. "
                                         "A *.jsonl file is read as fights (initial state, actions, states, result).")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.add_argument("--show", type=int, default=5, metavar="K", help="disagreeing records to name per file (default 5)")
    check.set_defaults(_tool=_check)


def _step(args) -> int:
    from data_gen.rpg import format_target, parse_prompt, step

    print(format_target(*step(*parse_prompt(args.prompt))))
    return 0


def _check(args) -> int:
    from data_gen.rpg import check_file

    worst = 0
    for path in args.files:
        report = check_file(path, keep=args.show)
        print(f"{path}: {report.agree} of {report.total} records agree")
        for number, why in report.disagreements:
            print(f"  line {number}: {why}")
        if report.agree != report.total:
            worst = 1
    return worst


def run(args) -> int:
    return args._tool(args)
