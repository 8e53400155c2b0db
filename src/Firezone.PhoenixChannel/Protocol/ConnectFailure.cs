namespace Firezone.PhoenixChannel.Protocol;

/// <summary>Why a connection attempt failed.</summary>
/// <param name="Message">Display text (never contains the token).</param>
/// <param name="HttpStatus">The upgrade's HTTP status, when the server answered one.</param>
internal readonly record struct ConnectFailure(string Message, int? HttpStatus = null)
{
    /// <summary>A 4xx answer to the upgrade: fatal, the backoff is not consulted.</summary>
    public bool IsFatal => HttpStatus is >= 400 and < 500;
}
