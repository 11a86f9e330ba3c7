using WatchStat.WeCom;

namespace WatchStat.Tests.WeCom;

public sealed class WeComErrorTests
{
    [Theory]
    [InlineData(-1, WeComErrorKind.SystemBusy, true)]
    [InlineData(40014, WeComErrorKind.TokenRejected, true)]
    [InlineData(42001, WeComErrorKind.TokenRejected, true)]
    [InlineData(45009, WeComErrorKind.Throttled, true)]
    [InlineData(45033, WeComErrorKind.Throttled, true)]
    [InlineData(40001, WeComErrorKind.InvalidSecret, false)]
    [InlineData(40013, WeComErrorKind.InvalidCorpId, false)]
    [InlineData(60020, WeComErrorKind.IpNotTrusted, false)]
    [InlineData(40058, WeComErrorKind.Other, false)]
    [InlineData(301002, WeComErrorKind.Other, false)]
    public void Each_errcode_maps_to_its_kind_and_retryability(int errCode, WeComErrorKind kind, bool retryable)
    {
        var error = WeComException.FromResult(WeComClient.GetWatchStatApi, errCode, "msg");

        Assert.Equal((errCode, kind, retryable), (error.ErrCode, error.Kind, error.IsRetryable));
        Assert.Contains($"errcode {errCode}", error.Message);
    }

    [Fact]
    public void The_untrusted_IP_error_says_which_list_to_fix()
    {
        var error = WeComException.FromResult(WeComClient.GetWatchStatApi, 60020, "not allow to access from your ip");

        Assert.Contains("trusted IP", error.Message);
        Assert.Contains("企业可信IP", error.Message);
    }
}
