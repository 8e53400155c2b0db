using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Logging;

/// <summary>
/// One event as the formatters see it: when, how severe, the category (upstream's <c>target</c>), the formatted
/// message, the structured fields of the state (<c>{OriginalFormat}</c> left out, kept as <see cref="Template"/>) and
/// the exception, if any.
/// </summary>
internal readonly record struct LogEvent(
    DateTimeOffset Time,
    LogLevel Level,
    string Category,
    string Message,
    IReadOnlyList<KeyValuePair<string, object?>> Fields,
    string? Template,
    Exception? Exception)
{
    /// <summary>The name of the state entry that holds the message template.</summary>
    public const string OriginalFormat = "{OriginalFormat}";

    /// <summary>Captures <paramref name="state"/>'s fields ([LoggerMessage] and LogInformation state are key/value lists).</summary>
    public static LogEvent Create<TState>(DateTimeOffset time, LogLevel level, string category, TState state, Exception? exception, string message)
    {
        string? template = null;
        List<KeyValuePair<string, object?>>? fields = null;
        if (state is IReadOnlyList<KeyValuePair<string, object?>> list)
        {
            for (int i = 0; i < list.Count; i++)
            {
                var field = list[i];
                if (field.Key == OriginalFormat)
                {
                    template = field.Value as string;
                    continue;
                }

                (fields ??= new List<KeyValuePair<string, object?>>(list.Count)).Add(field);
            }
        }
        else if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
        {
            foreach (var field in pairs)
            {
                if (field.Key == OriginalFormat)
                {
                    template = field.Value as string;
                    continue;
                }

                (fields ??= []).Add(field);
            }
        }

        return new LogEvent(time.ToUniversalTime(), level, category, message, (IReadOnlyList<KeyValuePair<string, object?>>?)fields ?? [], template, exception);
    }

    /// <summary>
    /// The fields plus <c>message</c> (and <c>exception</c> when there is one), sorted by name with ordinal comparison as
    /// upstream's BTreeMap; of two fields with one name the later wins, and <c>message</c>/<c>exception</c> win over
    /// fields of those names.
    /// </summary>
    public SortedDictionary<string, object?> SortedFieldsWithMessage()
    {
        var sorted = new SortedDictionary<string, object?>(StringComparer.Ordinal);
        foreach (var field in Fields)
        {
            sorted[field.Key] = field.Value;
        }

        sorted["message"] = Message;
        if (Exception is not null)
        {
            sorted["exception"] = Exception.ToString();
        }

        return sorted;
    }
}
