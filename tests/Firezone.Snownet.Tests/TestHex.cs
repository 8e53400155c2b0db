namespace Firezone.Snownet.Tests;

internal static class TestHex
{
    /// <summary>Parses hex with optional whitespace.</summary>
    public static byte[] Bytes(string hex) => Convert.FromHexString(string.Concat(hex.Where(c => !char.IsWhiteSpace(c))));
}
