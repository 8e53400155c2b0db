using System.Net;

namespace Firezone.Connlib.Dns;

/// <summary>
/// Fixed name → addresses entries answered before resources (tunnel spec §4.7 step 2; upstream's <c>KnownHosts</c>,
/// a hosts file): A gives the name's IPv4 addresses, AAAA its IPv6 addresses (either may be none: an empty NOERROR),
/// PTR of one of the addresses gives the name. Names compare case-insensitively; an address listed under several
/// names points back to the last of them in ordinal name order (upstream builds the reverse map from a sorted map).
/// Names that are not valid DNS names are ignored. Immutable after construction.
/// </summary>
internal sealed class KnownHosts
{
    private readonly Dictionary<string, Host> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Host>.AlternateLookup<ReadOnlySpan<char>> _byNameSpan;
    private readonly Dictionary<uint, byte[]> _nameByV4 = [];
    private readonly Dictionary<UInt128, byte[]> _nameByV6 = [];

    /// <summary>Builds the tables from <paramref name="hosts"/> (may be null: none).</summary>
    public KnownHosts(IReadOnlyDictionary<string, IReadOnlyList<IPAddress>>? hosts)
    {
        _byNameSpan = _byName.GetAlternateLookup<ReadOnlySpan<char>>();
        if (hosts is null)
        {
            return;
        }

        Span<byte> wire = stackalloc byte[DnsName.MaxWireLength];
        Span<char> text = stackalloc char[DnsName.MaxPresentationLength];
        Span<byte> bytes = stackalloc byte[16];
        foreach (var (name, addresses) in hosts.OrderBy(h => h.Key, StringComparer.Ordinal))
        {
            if (!DnsName.TryEncode(name, wire, out int wireLength))
            {
                continue;
            }

            byte[] wireName = wire[..wireLength].ToArray();
            string key = new(text[..DnsName.FormatPresentation(wireName, text, lowercase: true)]);
            var v4 = new List<byte>();
            var v6 = new List<byte>();
            foreach (var address in addresses)
            {
                var b = IpKey.Bytes(address, bytes);
                if (b.Length == 4)
                {
                    v4.AddRange(b);
                    _nameByV4[IpKey.V4(b)] = wireName;
                }
                else
                {
                    v6.AddRange(b);
                    _nameByV6[IpKey.V6(b)] = wireName;
                }
            }

            _byName[key] = new Host([.. v4], [.. v6]);
        }
    }

    /// <summary>The number of names.</summary>
    public int Count => _byName.Count;

    /// <summary>The addresses of a name given in lowercase presentation form: IPv4 as consecutive 4-byte groups, IPv6 as 16-byte groups.</summary>
    public bool TryGetAddresses(ReadOnlySpan<char> lowercaseName, out ReadOnlySpan<byte> v4, out ReadOnlySpan<byte> v6)
    {
        if (_byNameSpan.TryGetValue(lowercaseName, out var host))
        {
            v4 = host.V4;
            v6 = host.V6;
            return true;
        }

        v4 = v6 = default;
        return false;
    }

    /// <summary>The wire name an IPv4 address points back to.</summary>
    public bool TryGetName(uint v4, out byte[] wireName) => _nameByV4.TryGetValue(v4, out wireName!);

    /// <summary>The wire name an IPv6 address points back to.</summary>
    public bool TryGetName(UInt128 v6, out byte[] wireName) => _nameByV6.TryGetValue(v6, out wireName!);

    private sealed record Host(byte[] V4, byte[] V6);
}
