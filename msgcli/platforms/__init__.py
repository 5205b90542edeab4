"""The platforms msgcli reaches Claude on besides the Anthropic API with a key: Amazon
Bedrock, Google Vertex AI, Microsoft Foundry, and the Anthropic API through workload
identity federation.

Each platform is one module that decides where a request goes (URL), what its body
becomes, how it is authorised (headers, signing, tokens that expire), what its errors
look like, how its stream is framed, and which features it lacks. Nothing here is
imported on the default path (the Anthropic API with ANTHROPIC_API_KEY): the command
line names a platform only when one is chosen, and only then does a conductor load
this room.
"""

from msgcli.errors import InputError

# What each platform cannot do, by the Options field that asks for it: refused (exit 2,
# naming the platform) before anything is read or sent.
_LACKS = {
    "bedrock": {"batch": "Message Batches (Bedrock's batch jobs go through S3)",
                "batch_command": "Message Batches (Bedrock's batch jobs go through S3)",
                "list_models": "--list-models (Bedrock lists models in its own "
                               "control-plane API)",
                "count_tokens": "--count-tokens on the InvokeModel endpoint (use "
                                "--platform bedrock-mantle)"},
    "bedrock-mantle": {"batch": "Message Batches", "batch_command": "Message Batches",
                       "list_models": "--list-models"},
    "vertex": {"batch": "Message Batches (Vertex AI runs batch prediction jobs of "
                        "its own)",
               "batch_command": "Message Batches (Vertex AI runs batch prediction jobs "
                                "of its own)",
               "list_models": "--list-models (Vertex AI lists models in its Model "
                              "Garden)"},
    "foundry": {"batch": "Message Batches", "batch_command": "Message Batches",
                "list_models": "--list-models"},
    "anthropic": {},
}


def check(opts, batch_command=None):
    """Refuse, before any request, what the chosen platform cannot do."""
    lacks = _LACKS[opts.platform]
    for field, what in lacks.items():
        given = batch_command if field == "batch_command" else getattr(opts, field)
        if given:
            raise InputError(f"--platform {opts.platform}: {what} is not available on "
                             f"this platform")


def load(opts, console):
    """The Platform for these options, its credentials' secrets given to the redactor."""
    if opts.platform == "bedrock":
        from msgcli.platforms import bedrock

        return bedrock.Bedrock(opts, console)
    if opts.platform == "bedrock-mantle":
        from msgcli.platforms import bedrock

        return bedrock.Mantle(opts, console)
    if opts.platform == "vertex":
        from msgcli.platforms import vertex

        return vertex.Vertex(opts, console)
    if opts.platform == "foundry":
        from msgcli.platforms import foundry

        return foundry.Foundry(opts, console)
    from msgcli.platforms import federation

    return federation.Federated(opts, console)
