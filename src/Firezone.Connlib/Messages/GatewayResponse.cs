using System.Net;
using Firezone.Snownet;

namespace Firezone.Connlib.Messages;

/// <summary>
/// The gateway's answer as the portal relays it (<c>gateway_payload</c> of <see cref="Connect"/> and
/// <see cref="ConnectionReady"/>): externally tagged with PascalCase keys, <c>{"ConnectionAccepted": …}</c> or
/// <c>{"ResourceAccepted": …}</c>; any other shape fails the message.
/// </summary>
public abstract record GatewayResponse
{
    private protected GatewayResponse()
    {
    }
}

/// <summary>The gateway accepted the connection; these are its ICE credentials (the answer).</summary>
/// <param name="IceParameters">The gateway's ICE ufrag and password.</param>
public sealed record ConnectionAccepted(Credentials IceParameters) : GatewayResponse
{
    /// <summary>The answer as Snownet takes it.</summary>
    public Answer ToAnswer() => new(IceParameters);
}

/// <summary>Deprecated: the gateway accepted access to a DNS resource and resolved the name (clients ignore it).</summary>
/// <param name="Domain">The name.</param>
/// <param name="Addresses">What it resolved to.</param>
public sealed record ResourceAccepted(string Domain, IReadOnlyList<IPAddress> Addresses) : GatewayResponse;
