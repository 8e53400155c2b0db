using Firezone.Connlib.Model;
using Firezone.Tun.Packets;

namespace Firezone.Connlib.Gateway;

/// <summary>
/// What one filter-table entry lets through (tunnel spec §5.3): everything (<see cref="PermitAll"/>, when any
/// contributing resource has an empty filter list), or the union of the contributing resources' TCP and UDP
/// destination-port ranges plus an ICMP flag. A TCP/UDP packet is allowed when its destination port is in the union,
/// any ICMP (on IPv4) or ICMPv6 (on IPv6) packet when the flag is set, any other protocol never. Immutable; the check
/// is allocation-free.
/// </summary>
internal sealed class FilterEngine
{
    private readonly PortRangeSet _tcp;
    private readonly PortRangeSet _udp;
    private readonly bool _icmp;

    private FilterEngine(bool permitAll, PortRangeSet tcp, PortRangeSet udp, bool icmp)
    {
        IsPermitAll = permitAll;
        _tcp = tcp;
        _udp = udp;
        _icmp = icmp;
    }

    /// <summary>Allows every packet.</summary>
    public static FilterEngine PermitAll { get; } = new(true, PortRangeSet.Empty, PortRangeSet.Empty, true);

    /// <summary>True for <see cref="PermitAll"/>.</summary>
    public bool IsPermitAll { get; }

    /// <summary>
    /// The engine of the filter lists of every contributing resource: <see cref="PermitAll"/> if any list is empty,
    /// else the union of all their filters. No list at all yields an engine that allows nothing.
    /// </summary>
    public static FilterEngine From(IEnumerable<IReadOnlyList<Filter>> filterLists)
    {
        ArgumentNullException.ThrowIfNull(filterLists);
        var tcp = new List<(ushort, ushort)>();
        var udp = new List<(ushort, ushort)>();
        bool icmp = false;
        foreach (var list in filterLists)
        {
            if (list.Count == 0)
            {
                return PermitAll;
            }

            foreach (var filter in list)
            {
                switch (filter.Protocol)
                {
                    case FilterProtocol.Tcp:
                        tcp.Add((filter.PortStart, filter.PortEnd));
                        break;
                    case FilterProtocol.Udp:
                        udp.Add((filter.PortStart, filter.PortEnd));
                        break;
                    case FilterProtocol.Icmp:
                        icmp = true;
                        break;
                }
            }
        }

        return new FilterEngine(false, PortRangeSet.From(tcp), PortRangeSet.From(udp), icmp);
    }

    /// <summary>True when the (already parsed) packet is allowed.</summary>
    public bool IsAllowed(IpPacket packet)
    {
        if (IsPermitAll)
        {
            return true;
        }

        if (packet.TryGetTcp(out var tcp))
        {
            return _tcp.Contains(tcp.DestinationPort);
        }

        if (packet.TryGetUdp(out var udp))
        {
            return _udp.Contains(udp.DestinationPort);
        }

        byte protocol = packet.Protocol;
        if ((packet.IsIpv4 && protocol == IpConstants.ProtocolIcmp) || (!packet.IsIpv4 && protocol == IpConstants.ProtocolIcmpV6))
        {
            return _icmp;
        }

        return false;
    }

    /// <inheritdoc/>
    public override string ToString() => IsPermitAll ? "PermitAll" : $"PermitSome(tcp {_tcp}, udp {_udp}, icmp {_icmp})";
}

/// <summary>A set of ports as sorted, merged, disjoint inclusive ranges; membership by binary search.</summary>
internal sealed class PortRangeSet
{
    private readonly ushort[] _starts;
    private readonly ushort[] _ends;

    private PortRangeSet(ushort[] starts, ushort[] ends)
    {
        _starts = starts;
        _ends = ends;
    }

    /// <summary>No port.</summary>
    public static PortRangeSet Empty { get; } = new([], []);

    /// <summary>The union of inclusive ranges (a range with start above end is empty).</summary>
    public static PortRangeSet From(IEnumerable<(ushort Start, ushort End)> ranges)
    {
        var sorted = ranges.Where(r => r.Start <= r.End).OrderBy(r => r.Start).ToList();
        var starts = new List<ushort>();
        var ends = new List<ushort>();
        foreach (var (start, end) in sorted)
        {
            if (ends.Count > 0 && start <= ends[^1] + 1)
            {
                ends[^1] = Math.Max(ends[^1], end);
            }
            else
            {
                starts.Add(start);
                ends.Add(end);
            }
        }

        return starts.Count == 0 ? Empty : new PortRangeSet([.. starts], [.. ends]);
    }

    /// <summary>True when <paramref name="port"/> is in one of the ranges.</summary>
    public bool Contains(ushort port)
    {
        int lo = 0, hi = _starts.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (port < _starts[mid])
            {
                hi = mid - 1;
            }
            else if (port > _ends[mid])
            {
                lo = mid + 1;
            }
            else
            {
                return true;
            }
        }

        return false;
    }

    /// <inheritdoc/>
    public override string ToString() => "[" + string.Join(", ", _starts.Select((s, i) => s == _ends[i] ? $"{s}" : $"{s}-{_ends[i]}")) + "]";
}
