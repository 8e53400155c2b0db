using System.Globalization;

namespace Firezone.Connlib.Relay;

/// <summary>Formats byte rates as the relay's stats line does: B/s, kB/s, MB/s, GB/s, TB/s with factor 1000 and two decimals.</summary>
public static class ThroughputFormatter
{
    private static readonly string[] Units = ["B/s", "kB/s", "MB/s", "GB/s", "TB/s"];

    /// <summary>E.g. 1234 → "1.23 kB/s".</summary>
    public static string Format(double bytesPerSecond)
    {
        int unit = 0;
        while (bytesPerSecond >= 1000 && unit < Units.Length - 1)
        {
            bytesPerSecond /= 1000;
            unit++;
        }

        return string.Create(CultureInfo.InvariantCulture, $"{bytesPerSecond:0.00} {Units[unit]}");
    }
}
