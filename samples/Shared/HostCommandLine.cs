using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;

namespace Firezone.Hosts;

/// <summary>
/// The command-line conventions the client and gateway share with the relay (System.CommandLine): every setting is a
/// flag with an environment variable named in <c>--help</c> as <c>[env: NAME=]</c>; a flag wins over its variable; an
/// empty variable counts as unset; a value that does not parse is an error naming the flag or the variable.
/// Linked into both host projects (no host references another).
/// </summary>
internal sealed class HostCommandLine
{
    private readonly List<(string Name, string Text)> _environmentOnly = [];

    public HostCommandLine(string description, string programName)
    {
        Root = new RootCommand(description);
        Root.Directives.Clear();
        Root.Action = new RunAction();
        ProgramName = programName;
        var version = Root.Options.OfType<VersionOption>().Single();
        version.Aliases.Add("-V");
        var help = Root.Options.OfType<HelpOption>().Single();
        help.Action = new HelpWithEnvironment((SynchronousCommandLineAction)help.Action!, _environmentOnly);
    }

    public RootCommand Root { get; }

    public string ProgramName { get; }

    /// <summary>A flag with a value, its environment variable and parser.</summary>
    public Setting<T> Add<T>(string name, string? alias, string env, string valueName, string description, Func<string, T> parse, string? defaultText = null, bool hidden = false)
    {
        var option = new Option<T>(name)
        {
            HelpName = valueName,
            Description = $"{description} [env: {env}=]{(defaultText is null ? string.Empty : $" [default: {defaultText}]")}",
            Arity = ArgumentArity.ExactlyOne,
            Hidden = hidden,
            Recursive = true,
            CustomParser = result =>
            {
                try
                {
                    return result.Tokens.Count == 1 ? parse(result.Tokens[0].Value) : throw new FormatException("takes exactly one value");
                }
                catch (FormatException e)
                {
                    result.AddError($"{name}: {e.Message}");
                    return default;
                }
            },
        };
        if (alias is not null)
        {
            option.Aliases.Add(alias);
        }

        Root.Options.Add(option);
        return new Setting<T>(option, env, parse);
    }

    /// <summary>A flag without value (true when given), optionally also set by a <c>true</c>/<c>false</c> variable.</summary>
    public Option<bool> Switch(string name, string description, string? env = null, bool hidden = false)
    {
        var option = new Option<bool>(name)
        {
            Arity = ArgumentArity.Zero,
            Description = env is null ? description : $"{description} [env: {env}=]",
            Hidden = hidden,
            Recursive = true,
        };
        Root.Options.Add(option);
        return option;
    }

    /// <summary>A subcommand that runs the host like the root command (e.g. the client's <c>standalone</c>).</summary>
    public Command Subcommand(string name, string description)
    {
        var command = new Command(name, description) { Action = new RunAction() };
        Root.Subcommands.Add(command);
        return command;
    }

    /// <summary>A positional argument (at most one value).</summary>
    public Argument<string?> Positional(Command command, string name, string description, bool hidden = false)
    {
        var argument = new Argument<string?>(name) { Arity = ArgumentArity.ZeroOrOne, Description = description, Hidden = hidden };
        command.Arguments.Add(argument);
        return argument;
    }

    /// <summary>A variable without a flag, listed under "Environment:" at the end of <c>--help</c>.</summary>
    public void EnvironmentOnly(string name, string text) => _environmentOnly.Add((name, text));

    /// <summary>Parses; null with <paramref name="informational"/> set for --help/--version; throws ArgumentException (one error per line) on usage errors.</summary>
    public ParseResult? Parse(IReadOnlyList<string> args, out ParseResult? informational)
    {
        var parsed = Root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        informational = null;
        if (parsed.Action is not (null or ParseErrorAction or RunAction))
        {
            informational = parsed;
            return null;
        }

        if (parsed.Errors.Count > 0)
        {
            // An unknown option is taken as a positional value; name it as what the user meant.
            bool escaped = parsed.Tokens.Any(t => t.Type == TokenType.DoubleDash);
            var unknown = parsed.Tokens.Where(t => !escaped && t.Type == TokenType.Argument && t.Value.StartsWith('-')).Select(t => $"Unrecognized option '{t.Value}'");
            throw new ArgumentException(string.Join('\n', unknown.Concat(parsed.Errors.Select(e => e.Message))));
        }

        return parsed;
    }

    /// <summary>The value of <paramref name="setting"/>: the flag, else its variable (empty = unset), else default; parse errors go to <paramref name="errors"/>.</summary>
    public static T? Get<T>(ParseResult parsed, Setting<T> setting, Func<string, string?> environment, List<string> errors)
    {
        if (parsed.GetResult(setting.Option) is { Implicit: false })
        {
            return parsed.GetValue(setting.Option);
        }

        if (environment(setting.Env) is not { Length: > 0 } text)
        {
            return default;
        }

        try
        {
            return setting.Parse(text);
        }
        catch (FormatException e)
        {
            errors.Add($"{setting.Env}: {e.Message}");
            return default;
        }
    }

    /// <summary>A switch: given, or its variable is <c>true</c> (<c>false</c>/empty: off; anything else an error).</summary>
    public static bool GetSwitch(ParseResult parsed, Option<bool> option, string? env, Func<string, string?> environment, List<string> errors)
    {
        if (parsed.GetValue(option))
        {
            return true;
        }

        return env is not null && environment(env) switch
        {
            null or "" or "false" => false,
            "true" => true,
            var other => AddError(errors, $"{env}: '{other}' is not a boolean (true or false)"),
        };
    }

    /// <summary>A positional value, else its variable; a value starting with '-' is a mistyped option unless after "--".</summary>
    public static string? GetPositional(ParseResult parsed, Argument<string?> argument, string env, Func<string, string?> environment, List<string> errors)
    {
        string? value = parsed.GetValue(argument);
        if (value is not null && value.StartsWith('-') && !parsed.Tokens.Any(t => t.Type == TokenType.DoubleDash))
        {
            errors.Add($"Unrecognized option '{value}' (a {argument.Name} that starts with '-' goes after '--')");
        }

        return value ?? (environment(env) is { Length: > 0 } fromEnvironment ? fromEnvironment : null);
    }

    /// <summary>Writes the --help text.</summary>
    public void WriteHelp(TextWriter writer) => Root.Parse(["--help"]).Invoke(new InvocationConfiguration { Output = writer });

    public static bool ParseBool(string text) => text switch
    {
        "true" => true,
        "false" => false,
        _ => throw new FormatException($"'{text}' is not a boolean (true or false)"),
    };

    private static bool AddError(List<string> errors, string error)
    {
        errors.Add(error);
        return false;
    }

    /// <summary>Marks a parse that runs the host (not --help/--version); never invoked.</summary>
    private sealed class RunAction : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult) => 0;
    }

    /// <summary>System.CommandLine's help followed by the variables that have no flag.</summary>
    private sealed class HelpWithEnvironment(SynchronousCommandLineAction help, List<(string Name, string Text)> variables) : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            int code = help.Invoke(parseResult);
            var output = parseResult.InvocationConfiguration.Output;
            if (variables.Count > 0)
            {
                int width = variables.Max(v => v.Name.Length);
                output.WriteLine("Environment:");
                foreach (var (name, text) in variables)
                {
                    output.WriteLine($"  {name.PadRight(width)}  {text}");
                }

                output.WriteLine();
            }

            return code;
        }
    }
}

/// <summary>A flag with its environment variable and the parser both use.</summary>
internal sealed record Setting<T>(Option<T> Option, string Env, Func<string, T> Parse);
