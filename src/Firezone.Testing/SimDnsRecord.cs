using System.Net;

namespace Firezone.Testing;

/// <summary>The record types the tunnel test's DNS records use (tunnel spec §9.2).</summary>
public enum SimDnsRecordType
{
    /// <summary>IPv4 address.</summary>
    A,

    /// <summary>IPv6 address.</summary>
    Aaaa,

    /// <summary>Text strings.</summary>
    Txt,
}

/// <summary>One DNS record of a simulated name: an address (A/AAAA) or text strings (TXT).</summary>
/// <param name="Type">The record type.</param>
/// <param name="Address">The address of an A or AAAA record; null for TXT.</param>
/// <param name="Text">The strings of a TXT record (each at most 255 bytes); empty for A/AAAA.</param>
public sealed record SimDnsRecord(SimDnsRecordType Type, IPAddress? Address, IReadOnlyList<string> Text)
{
    /// <summary>An A or AAAA record (by the family of <paramref name="address"/>).</summary>
    public static SimDnsRecord ForAddress(IPAddress address) =>
        new(address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? SimDnsRecordType.A : SimDnsRecordType.Aaaa, address, []);

    /// <summary>A TXT record.</summary>
    public static SimDnsRecord ForText(IReadOnlyList<string> text) => new(SimDnsRecordType.Txt, null, text);

    /// <inheritdoc/>
    public bool Equals(SimDnsRecord? other) =>
        other is not null && Type == other.Type && Equals(Address, other.Address) && Text.SequenceEqual(other.Text);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Type, Address, Text.Count);
}
