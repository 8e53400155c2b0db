using System.Net;
using Firezone.Connlib.Model;

namespace Firezone.Connlib.Gateway;

/// <summary>Something <see cref="GatewayState"/> asks its host to do; drained with <see cref="GatewayState.PollEvent"/>.</summary>
public abstract record GatewayEvent
{
    private protected GatewayEvent()
    {
    }
}

/// <summary>Send these new local ICE candidates to the client (portal <c>broadcast_ice_candidates</c>).</summary>
/// <param name="Client">The client.</param>
/// <param name="Candidates">SDP candidate strings, distinct, in ordinal order.</param>
public sealed record AddedIceCandidates(ClientId Client, IReadOnlyList<string> Candidates) : GatewayEvent
{
    /// <inheritdoc/>
    public bool Equals(AddedIceCandidates? other) => other is not null && Client == other.Client && Candidates.SequenceEqual(other.Candidates);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Client, Candidates.Count);
}

/// <summary>Tell the client these local ICE candidates are gone (portal <c>broadcast_invalidated_ice_candidates</c>).</summary>
/// <param name="Client">The client.</param>
/// <param name="Candidates">SDP candidate strings, distinct, in ordinal order.</param>
public sealed record RemovedIceCandidates(ClientId Client, IReadOnlyList<string> Candidates) : GatewayEvent
{
    /// <inheritdoc/>
    public bool Equals(RemovedIceCandidates? other) => other is not null && Client == other.Client && Candidates.SequenceEqual(other.Candidates);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Client, Candidates.Count);
}

/// <summary>
/// Resolve <see cref="Name"/> again (every real IP of it stopped answering) and pass the result to
/// <see cref="GatewayState.RefreshTranslation"/>. Repeated every second while the condition holds.
/// </summary>
/// <param name="Name">The name (lower case, no trailing dot).</param>
/// <param name="Client">The client whose translations these are.</param>
/// <param name="Resource">The DNS resource.</param>
public sealed record RefreshDns(string Name, ClientId Client, ResourceId Resource) : GatewayEvent;

/// <summary>
/// A client asked (p2p control <c>AssignedIps</c>) for NAT of a name of a DNS resource: resolve <see cref="Domain"/>
/// and pass this event and the result to <see cref="GatewayState.HandleDomainResolved"/>.
/// </summary>
/// <param name="Domain">The name as the client sent it.</param>
/// <param name="Client">The client.</param>
/// <param name="Resource">The DNS resource.</param>
/// <param name="ProxyIps">The client's 8 proxy IPs for the name.</param>
public sealed record ResolveDns(string Domain, ClientId Client, ResourceId Resource, IReadOnlyList<IPAddress> ProxyIps) : GatewayEvent
{
    /// <inheritdoc/>
    public bool Equals(ResolveDns? other) =>
        other is not null && Domain == other.Domain && Client == other.Client && Resource == other.Resource && ProxyIps.SequenceEqual(other.ProxyIps);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Domain, Client, Resource, ProxyIps.Count);
}
