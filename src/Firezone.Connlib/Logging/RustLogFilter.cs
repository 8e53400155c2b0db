using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Logging;

/// <summary>
/// A <c>RUST_LOG</c> value read strictly, as the client and gateway do (hosts-and-tun.md §5.4): comma-separated
/// directives <c>level</c>, <c>target</c> or <c>target=level</c> (levels <c>trace</c>, <c>debug</c>, <c>info</c>,
/// <c>warn</c>, <c>error</c>, <c>off</c>, any case). A directive that does not parse is an error ("Failed to parse
/// directives"). Targets map to logger categories: <c>::</c> becomes <c>.</c>, and as with upstream's module paths a
/// target covers every category it prefixes; the most specific wins. A <c>[span{field=value}]</c> part is accepted and
/// ignored (.NET categories have no spans), so such a directive applies to the whole target.
/// </summary>
/// <remarks>
/// Deliberate difference (upstream quirk fixed): upstream's client and gateway log <em>nothing</em> when
/// <c>RUST_LOG</c> is unset or empty (only its three prepended directives remain); here the default level is then
/// <c>info</c>, what upstream's Docker images and systemd units set anyway.
/// </remarks>
public sealed partial class RustLogFilter
{
    private RustLogFilter(LogLevel defaultLevel, IReadOnlyList<KeyValuePair<string, LogLevel>> targets)
    {
        DefaultLevel = defaultLevel;
        Targets = targets;
    }

    /// <summary>The global level (the last bare level; <c>info</c> when none).</summary>
    public LogLevel DefaultLevel { get; }

    /// <summary>Per-category levels, in the order given (a later directive for the same category wins).</summary>
    public IReadOnlyList<KeyValuePair<string, LogLevel>> Targets { get; }

    /// <summary>Parses <paramref name="directives"/> (null or blank: <c>info</c> for everything).</summary>
    /// <exception cref="FormatException">A directive does not parse; the message starts with "Failed to parse directives".</exception>
    public static RustLogFilter Parse(string? directives)
    {
        var level = LogLevel.Information;
        var targets = new List<KeyValuePair<string, LogLevel>>();
        foreach (string directive in (directives ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (RustLogLevel.TryParseLevel(directive, out var bare))
            {
                level = bare;
                continue;
            }

            var match = DirectivePattern().Match(directive);
            if (!match.Success)
            {
                throw new FormatException($"Failed to parse directives: invalid filter directive `{directive}`");
            }

            var targetLevel = LogLevel.Trace;
            if (match.Groups["level"].Success && !RustLogLevel.TryParseLevel(match.Groups["level"].Value, out targetLevel))
            {
                throw new FormatException($"Failed to parse directives: invalid level `{match.Groups["level"].Value}` in `{directive}`");
            }

            targets.Add(new(match.Groups["target"].Value.Replace("::", ".", StringComparison.Ordinal), targetLevel));
        }

        return new RustLogFilter(level, targets);
    }

    /// <summary>
    /// The least severe level enabled for <paramref name="category"/>: the level of the longest target that equals the
    /// category or prefixes it at a <c>.</c> boundary (a later directive wins among equals), else <see cref="DefaultLevel"/>.
    /// Use it as the logging builder's filter: <c>builder.AddFilter((category, level) =&gt; filter.IsEnabled(category, level))</c>.
    /// </summary>
    public LogLevel LevelFor(string? category)
    {
        category ??= string.Empty;
        var level = DefaultLevel;
        int best = -1;
        foreach (var (target, targetLevel) in Targets)
        {
            bool covers = category == target || (category.StartsWith(target, StringComparison.Ordinal) && category[target.Length] == '.');
            if (covers && target.Length >= best)
            {
                best = target.Length;
                level = targetLevel;
            }
        }

        return level;
    }

    /// <summary>Whether <paramref name="level"/> is logged for <paramref name="category"/>.</summary>
    public bool IsEnabled(string? category, LogLevel level) => level != LogLevel.None && level >= LevelFor(category);

    [GeneratedRegex(@"^(?<target>[A-Za-z0-9_.\-]+(::[A-Za-z0-9_.\-]+)*)(\[[^\]]*\])?(=(?<level>[A-Za-z]+))?$")]
    private static partial Regex DirectivePattern();
}
