using System.Net;

namespace Firezone.Connlib.Dns;

/// <summary>
/// Hands out DNS-resource proxy addresses (tunnel spec §2, §4.7; upstream's <c>IpProvider::for_resources</c>): two
/// sequential iterators that never go back, one over the host addresses of an IPv4 range (network and broadcast
/// skipped) and one over every address of an IPv6 range (from the network address), both skipping the excluded
/// ranges (the sentinel ranges). Production ranges: <c>100.96.0.0/11</c> (first 100.96.0.1) and
/// <c>fd00:2021:1111:8000::/107</c> (first the network address itself). No recycling: once a range is used up it
/// yields nothing more.
/// </summary>
internal sealed class ProxyIpAllocator
{
    private readonly (uint First, uint Last)[] _v4Exclusions;
    private readonly (UInt128 First, UInt128 Last)[] _v6Exclusions;
    private readonly uint _v4Last;
    private readonly UInt128 _v6Last;
    private uint _v4Next;
    private UInt128 _v6Next;
    private bool _v4Done;
    private bool _v6Done;

    /// <summary>An allocator over <paramref name="v4"/> (hosts) and <paramref name="v6"/> (all addresses), skipping <paramref name="exclusions"/>.</summary>
    public ProxyIpAllocator(IPNetwork v4, IPNetwork v6, params IPNetwork[] exclusions)
    {
        if (!IpKey.IsV4(v4.BaseAddress) || IpKey.IsV4(v6.BaseAddress))
        {
            throw new ArgumentException("Expected an IPv4 and an IPv6 network.");
        }

        _v4Exclusions = [.. exclusions.Where(e => IpKey.IsV4(e.BaseAddress)).Select(e => V4Range(e))];
        _v6Exclusions = [.. exclusions.Where(e => !IpKey.IsV4(e.BaseAddress)).Select(e => V6Range(e))];
        var (v4First, v4Last) = V4Range(v4);
        // hosts(): without the network and broadcast addresses, except for /31 and /32 which have no such addresses.
        bool hostsOnly = v4.PrefixLength < 31;
        _v4Next = hostsOnly ? v4First + 1 : v4First;
        _v4Last = hostsOnly ? v4Last - 1 : v4Last;
        (_v6Next, _v6Last) = V6Range(v6);
    }

    /// <summary>The production allocator: the proxy ranges of tunnel spec §2 minus the two sentinel ranges.</summary>
    public static ProxyIpAllocator ForResources() =>
        new(DnsRanges.ResourcesV4, DnsRanges.ResourcesV6, DnsRanges.SentinelsV4, DnsRanges.SentinelsV6);

    /// <summary>Takes the next unused IPv4 address; false once the range is used up.</summary>
    public bool TryNextV4(out uint address)
    {
        while (!_v4Done)
        {
            address = _v4Next;
            if (_v4Next == _v4Last)
            {
                _v4Done = true;
            }
            else
            {
                _v4Next++;
            }

            if (!IsExcluded(address))
            {
                return true;
            }
        }

        address = 0;
        return false;
    }

    /// <summary>Takes the next unused IPv6 address; false once the range is used up.</summary>
    public bool TryNextV6(out UInt128 address)
    {
        while (!_v6Done)
        {
            address = _v6Next;
            if (_v6Next == _v6Last)
            {
                _v6Done = true;
            }
            else
            {
                _v6Next++;
            }

            if (!IsExcluded(address))
            {
                return true;
            }
        }

        address = 0;
        return false;
    }

    /// <summary>The first and last address of an IPv4 network.</summary>
    internal static (uint First, uint Last) V4Range(IPNetwork network)
    {
        Span<byte> bytes = stackalloc byte[16];
        uint first = IpKey.V4(IpKey.Bytes(network.BaseAddress, bytes));
        uint size = network.PrefixLength == 0 ? uint.MaxValue : (1u << (32 - network.PrefixLength)) - 1;
        return (first, first + size);
    }

    /// <summary>The first and last address of an IPv6 network.</summary>
    internal static (UInt128 First, UInt128 Last) V6Range(IPNetwork network)
    {
        Span<byte> bytes = stackalloc byte[16];
        UInt128 first = IpKey.V6(IpKey.Bytes(network.BaseAddress, bytes));
        UInt128 size = network.PrefixLength == 0 ? UInt128.MaxValue : (UInt128.One << (128 - network.PrefixLength)) - 1;
        return (first, first + size);
    }

    private bool IsExcluded(uint address)
    {
        foreach (var (first, last) in _v4Exclusions)
        {
            if (address >= first && address <= last)
            {
                return true;
            }
        }

        return false;
    }

    private bool IsExcluded(UInt128 address)
    {
        foreach (var (first, last) in _v6Exclusions)
        {
            if (address >= first && address <= last)
            {
                return true;
            }
        }

        return false;
    }
}
