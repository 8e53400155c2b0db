namespace Firezone.Connlib.Sessions;

/// <summary>Why a <see cref="ClientSession"/> or <see cref="GatewaySession"/> ended.</summary>
public enum SessionEndReason
{
    /// <summary>Stopped by its owner (<c>StopAsync</c> or disposal).</summary>
    Stopped,

    /// <summary>
    /// The portal connection failed permanently (phoenix-and-portal spec §3.9): a 4xx on the upgrade (401/403 are
    /// authentication errors), an expired token, a refused join, or the reconnect budget spent. See
    /// <see cref="SessionEnd.Error"/>, a <see cref="Firezone.PhoenixChannel.PhoenixChannelException"/>.
    /// </summary>
    PortalError,

    /// <summary>The tunnel loop crashed (a bug): <see cref="SessionEnd.Error"/> is the exception.</summary>
    Crashed,
}

/// <summary>How a session ended (the result of its <c>Completion</c>).</summary>
/// <param name="Reason">Why.</param>
/// <param name="Error">The error, for <see cref="SessionEndReason.PortalError"/> and <see cref="SessionEndReason.Crashed"/>.</param>
public sealed record SessionEnd(SessionEndReason Reason, Exception? Error)
{
    /// <summary>
    /// True when the portal refused the credentials (HTTP 401/403 on the upgrade or an expired token): the user
    /// should sign in again rather than see an error (upstream's <c>is_authentication_error</c>).
    /// </summary>
    public bool IsAuthenticationError => Error is Firezone.PhoenixChannel.PhoenixChannelException { IsAuthenticationError: true };
}
