using System.Net;

namespace Firezone.PhoenixChannel;

/// <summary>What ended a channel for good.</summary>
public enum PhoenixChannelErrorKind
{
    /// <summary>The WebSocket upgrade was answered with HTTP 4xx (401/403 are authentication errors).</summary>
    ClientError,
    /// <summary>The portal sent <c>disconnect</c> with reason <c>token_expired</c>.</summary>
    TokenExpired,
    /// <summary>The reconnect policy's max elapsed time passed since the first error of the failure streak.</summary>
    MaxRetriesReached,
    /// <summary>The portal answered our join with an error reply.</summary>
    LoginFailed,
}

/// <summary>The reason carried by an error reply of the portal (<c>{"status":"error","response":{"reason":...}}</c>).</summary>
public enum ErrorReason
{
    /// <summary>Any reason not listed below (e.g. <c>forbidden</c>, <c>token_expired</c>, <c>invalid_ref</c>).</summary>
    Other,
    /// <summary><c>unmatched topic</c>: the channel is not joined (the client re-joins).</summary>
    UnmatchedTopic,
    /// <summary><c>not_found</c>.</summary>
    NotFound,
    /// <summary><c>invalid_version</c>: the user agent's version was not accepted.</summary>
    InvalidVersion,
    /// <summary><c>offline</c>: e.g. no gateway is online for a resource.</summary>
    Offline,
    /// <summary><c>disabled</c>.</summary>
    Disabled,
}

/// <summary>A fatal channel error: the channel will not reconnect by itself.</summary>
public sealed class PhoenixChannelException : Exception
{
    internal PhoenixChannelException(PhoenixChannelErrorKind kind, string message, HttpStatusCode? statusCode = null,
        ErrorReason? loginFailure = null, string? finalError = null, Exception? inner = null)
        : base(message, inner)
    {
        Kind = kind;
        StatusCode = statusCode;
        LoginFailure = loginFailure;
        FinalError = finalError;
    }

    /// <summary>What ended the channel.</summary>
    public PhoenixChannelErrorKind Kind { get; }

    /// <summary>The HTTP status of a rejected upgrade (<see cref="PhoenixChannelErrorKind.ClientError"/> only).</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>The reason of a rejected join (<see cref="PhoenixChannelErrorKind.LoginFailed"/> only).</summary>
    public ErrorReason? LoginFailure { get; }

    /// <summary>The last transient error before giving up (<see cref="PhoenixChannelErrorKind.MaxRetriesReached"/> only).</summary>
    public string? FinalError { get; }

    /// <summary>
    /// True when the user must sign in again: HTTP 401 or 403 on the upgrade, or an expired token.
    /// (A join rejected with reason <c>token_expired</c> is a login failure, not an authentication error.)
    /// </summary>
    public bool IsAuthenticationError => Kind switch
    {
        PhoenixChannelErrorKind.TokenExpired => true,
        PhoenixChannelErrorKind.ClientError => StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden,
        _ => false,
    };

    internal static PhoenixChannelException ClientError(int status) =>
        new(PhoenixChannelErrorKind.ClientError, $"client error: {status} {ReasonPhrase(status)}", (HttpStatusCode)status);

    internal static PhoenixChannelException TokenExpired() => new(PhoenixChannelErrorKind.TokenExpired, "token expired");

    internal static PhoenixChannelException MaxRetriesReached(string finalError) =>
        new(PhoenixChannelErrorKind.MaxRetriesReached, $"max retries reached: {finalError}", finalError: finalError);

    internal static PhoenixChannelException LoginFailed(ErrorReason reason, string reasonText) =>
        new(PhoenixChannelErrorKind.LoginFailed, $"login failed: {Display(reason, reasonText)}", loginFailure: reason);

    internal static ErrorReason ParseReason(string reason) => reason switch
    {
        "unmatched topic" => ErrorReason.UnmatchedTopic,
        "not_found" => ErrorReason.NotFound,
        "invalid_version" => ErrorReason.InvalidVersion,
        "offline" => ErrorReason.Offline,
        "disabled" => ErrorReason.Disabled,
        _ => ErrorReason.Other,
    };

    private static string Display(ErrorReason reason, string text) => reason switch
    {
        ErrorReason.UnmatchedTopic => "unmatched topic",
        ErrorReason.NotFound => "not found",
        ErrorReason.InvalidVersion => "invalid version",
        ErrorReason.Offline => "offline",
        ErrorReason.Disabled => "disabled",
        _ => $"other ({text})",
    };

    private static string ReasonPhrase(int status) => status switch
    {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        _ => ((HttpStatusCode)status).ToString(),
    };
}
