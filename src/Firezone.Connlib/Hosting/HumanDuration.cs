using System.Globalization;

namespace Firezone.Connlib.Hosting;

/// <summary>
/// Durations written as the humantime crate reads them (upstream's <c>--max-partition-time</c>): one or more
/// <c>&lt;number&gt;&lt;unit&gt;</c> parts, optionally separated by spaces, summed: <c>5m</c>, <c>1h 30m</c>, <c>30d</c>.
/// Units: <c>ns</c>, <c>us</c>/<c>µs</c>, <c>ms</c>, <c>s</c>/<c>sec</c>/<c>secs</c>/<c>second</c>/<c>seconds</c>,
/// <c>m</c>/<c>min</c>/<c>mins</c>/<c>minute</c>/<c>minutes</c>, <c>h</c>/<c>hr</c>/<c>hrs</c>/<c>hour</c>/<c>hours</c>,
/// <c>d</c>/<c>day</c>/<c>days</c>, <c>w</c>/<c>week</c>/<c>weeks</c>, <c>M</c>/<c>month</c>/<c>months</c> (30.44 days),
/// <c>y</c>/<c>year</c>/<c>years</c> (365.25 days). A number needs a unit.
/// </summary>
public static class HumanDuration
{
    /// <summary>Parses <paramref name="text"/>.</summary>
    /// <exception cref="FormatException">Empty, a number without unit, an unknown unit, or out of range.</exception>
    public static TimeSpan Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var span = text.AsSpan().Trim();
        if (span.IsEmpty)
        {
            throw new FormatException("empty duration");
        }

        long ticks = 0;
        while (!span.IsEmpty)
        {
            int digits = 0;
            while (digits < span.Length && char.IsAsciiDigit(span[digits]))
            {
                digits++;
            }

            if (digits == 0)
            {
                throw new FormatException($"'{text}': expected a number at '{span}'");
            }

            ulong number = ulong.Parse(span[..digits], NumberStyles.None, CultureInfo.InvariantCulture);
            span = span[digits..];
            int unitLength = 0;
            while (unitLength < span.Length && !char.IsAsciiDigit(span[unitLength]) && !char.IsWhiteSpace(span[unitLength]))
            {
                unitLength++;
            }

            string unit = span[..unitLength].ToString();
            span = span[unitLength..].TrimStart();
            double unitTicks = unit switch
            {
                "ns" or "nsec" => 0.01,
                "us" or "µs" or "usec" => 10,
                "ms" or "msec" => TimeSpan.TicksPerMillisecond,
                "s" or "sec" or "secs" or "second" or "seconds" => TimeSpan.TicksPerSecond,
                "m" or "min" or "mins" or "minute" or "minutes" => TimeSpan.TicksPerMinute,
                "h" or "hr" or "hrs" or "hour" or "hours" => TimeSpan.TicksPerHour,
                "d" or "day" or "days" => TimeSpan.TicksPerDay,
                "w" or "week" or "weeks" => TimeSpan.TicksPerDay * 7,
                "M" or "month" or "months" => TimeSpan.TicksPerDay * 30.44,
                "y" or "year" or "years" => TimeSpan.TicksPerDay * 365.25,
                "" => throw new FormatException($"'{text}': the number {number} needs a unit (e.g. s, m, h, d)"),
                _ => throw new FormatException($"'{text}': unknown time unit '{unit}'"),
            };
            double part = number * unitTicks;
            if (part > TimeSpan.MaxValue.Ticks || ticks + part > TimeSpan.MaxValue.Ticks)
            {
                throw new FormatException($"'{text}': duration too long");
            }

            ticks += (long)part;
        }

        return TimeSpan.FromTicks(ticks);
    }
}
