// Types shared by main.bicep and the modules.

@export()
@description('A WeCom app the deployment harvests for. Each one becomes the app settings WeCom__Apps__<name>__CorpId, __SecretName and __AnchorUserIds, and with callbacks also __CallbackTokenSecretName and __EncodingAesKeySecretName.')
type wecomApp = {
  @description('The app\'s name in harvest requests ({"app": "<name>"}); "default" is used when a request names none. Letters, digits, "-" and "_" only: it is part of app setting names.')
  @minLength(1)
  name: string

  @description('The enterprise\'s corpid (企业ID). Not a secret.')
  corpId: string

  @description('The name of the Key Vault secret that holds the app\'s secret (corpsecret). The template never creates or reads the secret: the operator sets it with az keyvault secret set.')
  @minLength(1)
  secretName: string

  @description('The anchors (userids, comma separated) whose lives the nightly harvest looks for; empty for none.')
  anchorUserIds: string

  @description('The name of the Key Vault secret that holds the app\'s callback Token (WeCom admin console: the app\'s 接收消息 / API接收 settings). Becomes WeCom__Apps__<name>__CallbackTokenSecretName. The template never creates or reads the secret: the operator sets it with az keyvault secret set. Give it together with encodingAesKeySecretName, or leave both out (or empty) for an app without callbacks.')
  callbackTokenSecretName: string?

  @description('The name of the Key Vault secret that holds the app\'s callback EncodingAESKey (43 characters, same console page as the Token). Becomes WeCom__Apps__<name>__EncodingAesKeySecretName. The template never creates or reads the secret: the operator sets it with az keyvault secret set. Give it together with callbackTokenSecretName, or leave both out (or empty) for an app without callbacks.')
  encodingAesKeySecretName: string?
}

@export()
@description('The callback URL of each WeCom app with a callback: app name to https://<host>/api/wecom/callback/<name>.')
type wecomCallbackUrlSet = {
  @description('The app\'s callback URL (the URL to enter in the WeCom admin console under 接收消息 / API接收).')
  *: string
}

@export()
@description('Resource tags: name to value.')
type tagSet = {
  @description('A tag value.')
  *: string
}
