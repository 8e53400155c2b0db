using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Firezone.Tun.Packets;

namespace Firezone.Connlib.Gateway;

/// <summary>The transport of a NAT key (upstream's <c>Protocol</c>): TCP or UDP with a port, or ICMP echo with its identifier.</summary>
internal enum NatProtocol : byte
{
    /// <summary>TCP port.</summary>
    Tcp,

    /// <summary>UDP port.</summary>
    Udp,

    /// <summary>ICMP / ICMPv6 echo identifier.</summary>
    Icmp,
}

/// <summary>One side of a NAT session: transport, port (or echo identifier) and address.</summary>
/// <param name="Protocol">The transport.</param>
/// <param name="Port">The port or echo identifier.</param>
/// <param name="Address">The address.</param>
internal readonly record struct NatKey(NatProtocol Protocol, ushort Port, IpKey Address)
{
    /// <summary>The packet's source protocol (TCP/UDP source port or ICMP echo identifier); false for anything else.</summary>
    public static bool TryGetSource(IpPacket packet, out NatProtocol protocol, out ushort port) => TryGet(packet, source: true, out protocol, out port);

    /// <summary>The packet's destination protocol (TCP/UDP destination port or ICMP echo identifier); false for anything else.</summary>
    public static bool TryGetDestination(IpPacket packet, out NatProtocol protocol, out ushort port) => TryGet(packet, source: false, out protocol, out port);

    private static bool TryGet(IpPacket packet, bool source, out NatProtocol protocol, out ushort port)
    {
        if (packet.TryGetTcp(out var tcp))
        {
            (protocol, port) = (NatProtocol.Tcp, source ? tcp.SourcePort : tcp.DestinationPort);
            return true;
        }

        if (packet.TryGetUdp(out var udp))
        {
            (protocol, port) = (NatProtocol.Udp, source ? udp.SourcePort : udp.DestinationPort);
            return true;
        }

        if (packet.TryGetIcmp(out var icmp) && icmp.IsEcho)
        {
            (protocol, port) = (NatProtocol.Icmp, icmp.Identifier);
            return true;
        }

        (protocol, port) = (default, 0);
        return false;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Protocol}({Port}) {Address}";
}

/// <summary>
/// A client's stateful NAT between the proxy IPs it uses for a DNS resource and the resource's real IPs (tunnel spec
/// §5.5, upstream <c>nat_table.rs</c>): "inside" = (source protocol, proxy IP), "outside" = (protocol with possibly
/// another port or identifier, real IP); a bijection. Sessions idle for 60 s are removed by <see cref="HandleTimeout"/>.
/// </summary>
/// <remarks>
/// <para>Deliberate fix (§11 item 18): incoming traffic refreshes a session too. Upstream records the incoming timestamp
/// under the inside key, which never matches an outside key, so its sessions expire 60 s after the last outgoing
/// packet even while replies keep arriving.</para>
/// <para>Cap: at most <see cref="MaxSessions"/> sessions per client; beyond that a new session fails as "exhausted"
/// (existing sessions keep working), so a client cannot grow the table without bound.</para>
/// </remarks>
internal sealed class NatTable
{
    /// <summary>Sessions per client at most.</summary>
    public const int MaxSessions = 32_768;

    /// <summary>Idle time after which a session is removed.</summary>
    public static readonly TimeSpan Ttl = TimeSpan.FromSeconds(60);

    private readonly Dictionary<NatKey, NatKey> _byInside = new();
    private readonly Dictionary<NatKey, Session> _byOutside = new();
    private readonly Dictionary<IpKey, int> _outsideAddresses = new();
    private readonly List<NatKey> _expired = new();

    /// <summary>Live sessions.</summary>
    public int Count => _byInside.Count;

    /// <summary>True when some live session has <paramref name="address"/> as its outside (real) address.</summary>
    public bool HasOutsideAddress(IpKey address) => _outsideAddresses.ContainsKey(address);

    /// <summary>
    /// The outside tuple for an outgoing packet with source protocol (<paramref name="protocol"/>, <paramref name="port"/>)
    /// to <paramref name="proxy"/>, now mapped to <paramref name="real"/>: the existing session if its outside address is
    /// still <paramref name="real"/>, else a new one whose port is the first free value from the packet's own up to 65535,
    /// then from 1. False when no port is free or the table is full ("Exhausted NAT").
    /// </summary>
    public bool TranslateOutgoing(NatProtocol protocol, ushort port, IpKey proxy, IpKey real, TimeSpan now, out NatKey outside)
    {
        var inside = new NatKey(protocol, port, proxy);
        if (_byInside.TryGetValue(inside, out outside))
        {
            if (outside.Address == real)
            {
                CollectionsMarshal.GetValueRefOrNullRef(_byOutside, outside).LastSeen = now;
                return true;
            }

            Remove(inside, outside); // the name now resolves elsewhere: a new session replaces this one
        }

        if (_byInside.Count >= MaxSessions)
        {
            outside = default;
            return false;
        }

        if (!TryFindFreePort(protocol, port, real, out outside))
        {
            return false;
        }

        _byInside.Add(inside, outside);
        _byOutside.Add(outside, new Session(inside, now));
        CollectionsMarshal.GetValueRefOrAddDefault(_outsideAddresses, real, out _)++;
        return true;
    }

    /// <summary>
    /// The inside tuple of an incoming packet with destination protocol (<paramref name="protocol"/>,
    /// <paramref name="port"/>) from <paramref name="source"/>, refreshing the session (the fix of §11 item 18).
    /// </summary>
    public bool TranslateIncoming(NatProtocol protocol, ushort port, IpKey source, TimeSpan now, out NatKey inside)
    {
        ref var session = ref CollectionsMarshal.GetValueRefOrNullRef(_byOutside, new NatKey(protocol, port, source));
        if (Unsafe.IsNullRef(ref session))
        {
            inside = default;
            return false;
        }

        session.LastSeen = now;
        inside = session.Inside;
        return true;
    }

    /// <summary>Removes every session whose last packet (either way) is at least <see cref="Ttl"/> old.</summary>
    public void HandleTimeout(TimeSpan now)
    {
        foreach (var (outside, session) in _byOutside)
        {
            if (now - session.LastSeen >= Ttl)
            {
                _expired.Add(outside);
            }
        }

        foreach (var outside in _expired)
        {
            Remove(_byOutside[outside].Inside, outside);
        }

        _expired.Clear();
    }

    private bool TryFindFreePort(NatProtocol protocol, ushort start, IpKey real, out NatKey outside)
    {
        for (int p = start; p <= ushort.MaxValue; p++)
        {
            outside = new NatKey(protocol, (ushort)p, real);
            if (!_byOutside.ContainsKey(outside))
            {
                return true;
            }
        }

        for (int p = 1; p < start; p++)
        {
            outside = new NatKey(protocol, (ushort)p, real);
            if (!_byOutside.ContainsKey(outside))
            {
                return true;
            }
        }

        outside = default;
        return false;
    }

    private void Remove(NatKey inside, NatKey outside)
    {
        _byInside.Remove(inside);
        _byOutside.Remove(outside);
        ref int count = ref CollectionsMarshal.GetValueRefOrNullRef(_outsideAddresses, outside.Address);
        if (!Unsafe.IsNullRef(ref count) && --count == 0)
        {
            _outsideAddresses.Remove(outside.Address);
        }
    }

    private struct Session(NatKey inside, TimeSpan lastSeen)
    {
        public readonly NatKey Inside = inside;
        public TimeSpan LastSeen = lastSeen;
    }
}
