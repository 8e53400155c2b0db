using System.Net;

using Firezone.Testing;

namespace Firezone.Connlib.Tests.Tunnel.Model;

/// <summary>Transport of a generated packet.</summary>
internal enum Proto
{
    Icmp,
    Udp,
    Tcp,
}

/// <summary>One step of the tunnel's state-machine test (tunnel spec §9.4); printable, so a failing case reads as a list.</summary>
internal abstract record Transition;

/// <summary>The portal gives the client resource <paramref name="Index"/> of the portal's list.</summary>
internal sealed record ActivateResource(int Index) : Transition;

/// <summary>The portal deletes resource <paramref name="Index"/>.</summary>
internal sealed record DeactivateResource(int Index) : Transition;

/// <summary>The user disables exactly these resources (any subset: upstream's test always disables all, §11.23).</summary>
internal sealed record DisableResources(int[] Indices) : Transition
{
    public override string ToString() => $"DisableResources [{string.Join(",", Indices)}]";
}

/// <summary>An application sends a packet to an IP (a CIDR host, or any address) from the tunnel IP or a forged source.</summary>
internal sealed record SendToIp(Proto Proto, IPAddress Destination, bool FromTunnelIp, ushort Id1, ushort Id2, ulong Payload) : Transition;

/// <summary>An application sends a packet to a name it resolved (one of the proxy IPs the client answered, picked by <paramref name="Pick"/>).</summary>
internal sealed record SendToName(Proto Proto, string Name, bool IPv6, int Pick, ushort Id1, ushort Id2, ulong Payload) : Transition;

/// <summary>An application asks the client's first IPv4 sentinel for <paramref name="Name"/> over UDP, or over TCP (its own connection, §4.7).</summary>
internal sealed record QueryName(string Name, bool Aaaa, ushort QueryId, bool Tcp = false) : Transition;

/// <summary>The portal connection drops and comes back (init again).</summary>
internal sealed record ReconnectPortal : Transition;

/// <summary>The client moves to new addresses (reset, new keys, init again).</summary>
internal sealed record RoamClient(int Host) : Transition;

/// <summary>Nothing happens for a while.</summary>
internal sealed record Idle(int Seconds) : Transition;

/// <summary>The portal sets the client's DNS servers to these entries of <see cref="RefState.ServerPool"/> (possibly none).</summary>
internal sealed record UpdateUpstreamDns(int[] Servers) : Transition
{
    public override string ToString() => $"UpdateUpstreamDns [{string.Join(",", Servers)}]";
}

/// <summary>The host's own resolvers change to these entries of <see cref="RefState.ServerPool"/> (possibly none).</summary>
internal sealed record UpdateSystemDns(int[] Servers) : Transition
{
    public override string ToString() => $"UpdateSystemDns [{string.Join(",", Servers)}]";
}

/// <summary>The portal replaces the relay with a new one (tunnel spec §9.4 DeployNewRelays).</summary>
internal sealed record DeployNewRelay : Transition;

/// <summary>The relays are partitioned from the portal: reported gone, then listed again (tunnel spec §9.4 PartitionRelaysFromPortal); or rebooted meanwhile (RebootRelaysWhilePartitioned: same id, new secret, and with <paramref name="NewAddresses"/> new addresses).</summary>
internal sealed record PartitionRelays(bool Reboot = false, bool NewAddresses = false) : Transition;

/// <summary>An application asks for one of the client's known hosts (answered by the client before any resource, §4.7).</summary>
internal sealed record QueryKnownHost(string Name, bool Aaaa, ushort QueryId) : Transition;

/// <summary>An application asks for a name that is no resource; the host resolves it (the client hands the query out).</summary>
internal sealed record QueryGlobalName(string Name, bool Aaaa, ushort QueryId) : Transition;

/// <summary>An application sends a packet to an address the host resolved for a non-resource name (§9.4 "resolved non-resource IP").</summary>
internal sealed record SendToResolvedIp(Proto Proto, string Name, bool IPv6, int Pick, ushort Id1, ushort Id2, ulong Payload) : Transition;

/// <summary>What a PTR query asks about (§9.4 SendDnsQueries: "PTR replaces the name by the reverse name of a random v4 proxy, v6 proxy or arbitrary IP").</summary>
internal enum PtrTarget
{
    /// <summary>A proxy IP the client handed out for <see cref="QueryPtr.Name"/>: answered locally with that name.</summary>
    Proxy,

    /// <summary>An address of known host <see cref="QueryPtr.Name"/>: answered locally with the host's name.</summary>
    KnownHost,

    /// <summary>An address that is nobody's: forwarded to the host's resolver (which answers NXDOMAIN).</summary>
    Other,
}

/// <summary>An application asks the first IPv4 sentinel for the PTR of an address (picked by <paramref name="Pick"/> among <paramref name="Name"/>'s addresses of the family).</summary>
internal sealed record QueryPtr(PtrTarget Target, string Name, bool IPv6, int Pick, ushort QueryId) : Transition;

/// <summary>An application asks the first IPv4 sentinel for the MX records of a name (a resource's or another): never answered locally, always forwarded (§4.7 "any other type → forwarded").</summary>
internal sealed record QueryMx(string Name, ushort QueryId) : Transition;
