using Firezone.Testing;
using System.Net;

namespace Firezone.Snownet.Tests.Ice.Simulation;

/// <summary>
/// A simulated internet: peers on LANs behind NATs (or public), TURN-like relays (public, forwarding anything for
/// their owner), per-packet loss and uniform random delay (so reordering happens), and a partition switch.
/// </summary>
public sealed class SimNetwork(int seed, double loss, TimeSpan minDelay, TimeSpan maxDelay)
{
    private readonly Random _rng = new(seed);
    private readonly PriorityQueue<Delivery, (TimeSpan, long)> _queue = new();
    private readonly Dictionary<IPAddress, SimNat> _natsByIp = new();
    private readonly Dictionary<IPEndPoint, (int Peer, SimNat? Nat)> _hosts = new();
    private readonly Dictionary<IPEndPoint, int> _relayed = new();
    private readonly HashSet<(IPEndPoint, IPEndPoint)> _dropped = new();
    private long _seq;

    /// <summary>When true every packet is dropped.</summary>
    public bool Partitioned { get; set; }

    public long Sent { get; private set; }

    public long Delivered { get; private set; }

    /// <summary>Drops every datagram sent from one of these endpoints to the other (a broken direct path).</summary>
    public void DropBetween(IPEndPoint a, IPEndPoint b)
    {
        _dropped.Add((a, b));
        _dropped.Add((b, a));
    }

    public SimNat AddNat(NatType type, IPAddress publicIp)
    {
        var nat = new SimNat(type, publicIp);
        _natsByIp[publicIp] = nat;
        return nat;
    }

    /// <summary>Registers a host endpoint of a peer, behind <paramref name="nat"/> (null: public).</summary>
    public void AddHost(int peer, IPEndPoint host, SimNat? nat) => _hosts[host] = (peer, nat);

    /// <summary>Registers a relayed address owned by a peer.</summary>
    public void AddRelayed(int peer, IPEndPoint relayed) => _relayed[relayed] = peer;

    /// <summary>Sends a datagram from a peer's host or relayed address.</summary>
    public void Send(int peer, IPEndPoint source, IPEndPoint destination, byte[] payload, TimeSpan now)
    {
        Sent++;
        if (Partitioned || _rng.NextDouble() < loss || _dropped.Contains((source, destination)))
        {
            // Loss still opens NAT mappings (the packet left the host).
            Route(peer, source, destination, mutate: true);
            return;
        }

        if (Route(peer, source, destination, mutate: true) is { } hop)
        {
            TimeSpan delay = minDelay + TimeSpan.FromTicks((long)(_rng.NextDouble() * (maxDelay - minDelay).Ticks));
            _queue.Enqueue(new Delivery(hop.Peer, hop.From, hop.Local, payload), (now + delay, _seq++));
        }
    }

    /// <summary>Next delivery time.</summary>
    public TimeSpan? NextDelivery => _queue.TryPeek(out _, out (TimeSpan At, long) p) ? p.At : null;

    /// <summary>Pops a delivery due at or before <paramref name="now"/>.</summary>
    public bool TryDeliver(TimeSpan now, out Delivery delivery)
    {
        while (_queue.TryPeek(out delivery!, out (TimeSpan At, long) p) && p.At <= now)
        {
            _queue.Dequeue();
            if (Partitioned)
            {
                continue;
            }

            Delivered++;
            return true;
        }

        delivery = null!;
        return false;
    }

    /// <summary>
    /// Where a datagram from <paramref name="source"/> (a host or relayed address of <paramref name="peer"/>) to
    /// <paramref name="destination"/> ends up: the receiving peer, the source it sees and the local address it
    /// arrives on. Null when dropped. With <paramref name="mutate"/> false NAT state is only read.
    /// </summary>
    public (int Peer, IPEndPoint From, IPEndPoint Local)? Route(int peer, IPEndPoint source, IPEndPoint destination, bool mutate)
    {
        IPEndPoint publicSource;
        if (_relayed.TryGetValue(source, out int owner))
        {
            if (owner != peer)
            {
                return null;
            }

            publicSource = source;
        }
        else if (_hosts.TryGetValue(source, out (int Peer, SimNat? Nat) h) && h.Peer == peer)
        {
            // Same LAN (same NAT, or both public): direct.
            if (_hosts.TryGetValue(destination, out (int Peer, SimNat? Nat) d) && d.Nat is not null && ReferenceEquals(d.Nat, h.Nat))
            {
                return (d.Peer, source, destination);
            }

            if (h.Nat is null)
            {
                publicSource = source;
            }
            else
            {
                if (destination.Address.Equals(h.Nat.PublicIp))
                {
                    return null; // no hairpinning
                }

                IPEndPoint? mapped = h.Nat.Outbound(source, destination, mutate);
                if (mapped is null)
                {
                    return null;
                }

                publicSource = mapped;
            }
        }
        else
        {
            return null;
        }

        if (_relayed.TryGetValue(destination, out int relayOwner))
        {
            return (relayOwner, publicSource, destination);
        }

        if (_natsByIp.TryGetValue(destination.Address, out SimNat? nat))
        {
            IPEndPoint? inside = nat.Inbound(publicSource, destination);
            return inside is not null && _hosts.TryGetValue(inside, out (int Peer, SimNat? Nat) ih) ? (ih.Peer, publicSource, inside) : null;
        }

        if (_hosts.TryGetValue(destination, out (int Peer, SimNat? Nat) pub) && pub.Nat is null)
        {
            return (pub.Peer, publicSource, destination);
        }

        return null;
    }

    public sealed record Delivery(int Peer, IPEndPoint From, IPEndPoint Local, byte[] Payload);
}
